"""The inbound mail log in the admin: read-only, the original escaped, scoped like the desk."""

import pytest
from django.contrib import admin

from core.roles import Role
from support.admin import InboundEmailAdmin
from support.models import InboundEmail
from tests.factories import UserFactory
from tests.support.factories import TeamFactory

from .conftest import eml, feed

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/support/inboundemail/"


def test_a_lead_reads_every_mail_and_its_original(client, jane):
    lead = UserFactory(roles=[Role.SUPPORT_LEAD], is_staff=True)
    record = feed(eml("html_only.eml"))
    ignored = feed(eml("mailing_list_precedence.eml"))
    client.force_login(lead)

    listing = client.get(CHANGELIST)
    page = client.get(f"{CHANGELIST}{record.pk}/change/")

    assert listing.status_code == 200
    assert record.subject in listing.text and ignored.subject in listing.text
    assert page.status_code == 200
    # The raw MIME, escaped: its script is text on the page, never markup.
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page.text
    assert "<script>alert('x')</script>" not in page.text
    assert "Message-ID: &lt;0100018e1f2a3b4c-html-only@email.acme-corp.com&gt;" in page.text


def test_the_log_cannot_be_added_to_changed_or_deleted(client, jane):
    lead = UserFactory(roles=[Role.SUPPORT_LEAD], is_staff=True)
    record = feed(eml("new_plain_known_customer.eml"))
    client.force_login(lead)

    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert InboundEmail.objects.filter(pk=record.pk).exists()


def test_an_agent_sees_the_mails_of_the_tickets_the_desk_shows_them(rf, jane, lead):
    agent = UserFactory(roles=[Role.AGENT], is_staff=True)
    other_team = TeamFactory()
    visible = feed(eml("new_plain_known_customer.eml"))  # no team: every agent sees it
    hidden = feed(eml("html_only.eml"))
    hidden.ticket.team = other_team
    hidden.ticket.save(update_fields=["team"])
    unmatched = feed(eml("bounce_dsn.eml", visible.ticket))
    request = rf.get(CHANGELIST)
    request.user = agent

    queryset = InboundEmailAdmin(InboundEmail, admin.site).get_queryset(request)

    assert list(queryset) == [visible]
    request.user = lead
    assert set(InboundEmailAdmin(InboundEmail, admin.site).get_queryset(request)) == {
        visible,
        hidden,
        unmatched,
    }


def test_customers_never_reach_the_log(client, jane):
    feed(eml("new_plain_known_customer.eml"))
    client.force_login(jane)

    response = client.get(CHANGELIST)

    assert response.status_code in (302, 403, 404)
    assert "CSV export" not in response.text
