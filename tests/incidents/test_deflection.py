"""How often the incident banner stopped a new ticket: shown on the contact form once per
person, "followed" when they file anyway, deflected when a day passes without a request."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.deflection import banner_deflection
from incidents.models import BannerImpression
from support.models import Ticket
from tests.support.test_help_center import _contact

from .factories import make_incident

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]
BROWSER = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}


@pytest.fixture(autouse=True)
def no_typing_delay(settings):
    settings.BOT_TRAP_MIN_SECONDS = 0


@pytest.fixture
def outage(agent):
    return make_incident(by=agent, title="Exports fail")


def test_a_visitor_shown_the_banner_who_writes_anyway_is_not_a_deflection(client, outage):
    page = client.get("/help/tickets/new/", **BROWSER).content.decode()
    assert "Known incident: Exports fail" in page
    client.get("/help/tickets/new/", **BROWSER)  # looking twice is one person
    assert BannerImpression.objects.filter(incident=outage).count() == 1
    client.defaults.update(BROWSER)
    _contact(client, subject="Exports are broken")
    assert Ticket.objects.filter(subject="Exports are broken").exists()
    impression = BannerImpression.objects.get()
    assert impression.ticket_followed_at is not None
    figures = banner_deflection(outage)
    assert (figures["shown"], figures["followed"], figures["deflected"]) == (1, 1, 0)
    assert figures["deflection_rate"] == 0


def test_a_day_without_a_request_counts_as_deflected(client, outage, agent):
    client.get("/help/tickets/new/", **BROWSER)
    figures = banner_deflection(outage)
    assert (figures["shown"], figures["deflected"], figures["pending"]) == (1, 0, 1)
    assert figures["deflection_rate"] is None  # nothing settled yet
    BannerImpression.objects.update(shown_at=timezone.now() - timedelta(hours=25))
    figures = banner_deflection(outage)
    assert (figures["deflected"], figures["pending"], figures["deflection_rate"]) == (1, 0, 1.0)
    # A request filed after the day does not undo the deflection.
    client.defaults.update(BROWSER)
    _contact(client, subject="Something else entirely")
    assert banner_deflection(outage)["deflected"] == 1
    client.force_login(agent)
    page = client.get(f"/desk/incidents/{outage.number}/").content.decode()
    assert "shown to 1 person: 0 wrote in anyway, 1 did not within a day (100% deflected)" in page


def test_bots_other_pages_and_hidden_incidents_are_not_counted(client, agent, outage):
    client.get("/help/tickets/new/", HTTP_USER_AGENT="Googlebot/2.1")
    client.get("/help/", **BROWSER)  # the banner shows there too, but no one was about to write
    assert not BannerImpression.objects.exists()
    hidden = make_incident(by=agent, title="Internal only", is_public=False)
    client.get("/help/tickets/new/", **BROWSER)
    assert not BannerImpression.objects.filter(incident=hidden).exists()
