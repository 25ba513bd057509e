"""The page shell: apps supply menu entries, banners and ticket panels through `core.shell`.

The fake "higher app" below registers its entries the way incidents or bookings would (in
config/shell.py); support's pages show them although support imports nothing of it.
"""

import pathlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import config.shell  # noqa: F401  (the wiring the URLconf imports)
from core import shell
from core.permissions import is_staff
from tests.factories import UserFactory
from tests.support.factories import make_ticket

pytestmark = pytest.mark.django_db

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def registries():
    """Put the registries back as config wired them after each test."""
    saved = {
        r: dict(r.entries) for r in (shell.areas, shell.nav, shell.banners, shell.ticket_panels)
    }
    yield
    for registry, entries in saved.items():
        registry.entries.clear()
        registry.entries.update(entries)


def incident_banner(request):
    return "core/_banner.html", {"message": "E-mail delivery is degraded", "level": "error"}


def booking_panel(request, ticket):
    return "core/_panel.html", {"title": "Technician visit", "rows": [("For", ticket.number)]}


@pytest.fixture
def higher_app(registries):
    shell.add_nav(
        "desk", "incidents", "Incidents", lambda request: "/incidents/", order=40, visible=is_staff
    )
    shell.add_nav("help", "status", "Status page", lambda request: "/status/", order=40)
    shell.add_banner("incident", incident_banner, areas=("desk", "help"))
    shell.add_ticket_panel("booking", booking_panel, areas=("desk", "help"))


def test_a_higher_apps_entries_appear_on_desk_and_help_pages(client, customer, agent, higher_app):
    ticket = make_ticket(by=customer)
    client.force_login(agent)
    desk = client.get("/desk/").content.decode()
    assert '<a href="/incidents/">Incidents</a>' in desk
    assert "E-mail delivery is degraded" in desk
    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Technician visit" in page and ticket.number in page

    client.force_login(customer)
    help_home = client.get("/help/").content.decode()
    assert '<a href="/status/">Status page</a>' in help_home
    assert "Incidents" not in help_home
    assert "E-mail delivery is degraded" in help_home
    assert "Technician visit" in client.get(f"/help/tickets/{ticket.number}/").content.decode()


def test_menu_order_and_visibility(client, customer, agent, higher_app):
    client.force_login(agent)
    desk = client.get("/desk/").content.decode()
    assert desk.index(">Home</a>") < desk.index(">Incidents</a>") < desk.index(">API</a>")
    assert desk.index(">Incidents</a>") < desk.index(">Admin</a>")  # agents use the admin too
    assert '<a href="/desk/">Desk</a>' in client.get("/help/").content.decode()
    client.force_login(customer)
    assert '<a href="/desk/">Desk</a>' not in client.get("/help/").content.decode()


def test_a_banner_that_returns_nothing_shows_nothing(client, customer, registries):
    shell.add_banner("quiet", lambda request: None)
    client.force_login(customer)
    assert 'class="messages banner"' not in client.get("/help/").content.decode()


def test_banners_cost_the_same_queries_on_every_page(client, customer, lead, registries):
    from support import queue

    client.force_login(lead)
    make_ticket(by=customer)
    queue.forget_counts(lead)  # the queue's view counts are cached a few seconds per user
    with CaptureQueriesContext(connection) as without:
        client.get("/desk/?view=all")
    shell.add_banner("one", incident_banner)
    shell.add_banner("two", incident_banner)
    queue.forget_counts(lead)
    with CaptureQueriesContext(connection) as with_two:
        page = client.get("/desk/?view=all").content.decode()
    assert page.count("E-mail delivery is degraded") == 2
    assert len(with_two) == len(without)


def test_home_goes_through_the_registered_areas(client, registries):
    technician = UserFactory(roles=["technician"])
    shell.add_area(
        "jobs",
        home=lambda request: "/jobs/",
        layout="help/base.html",
        audience=lambda user: (
            user.is_authenticated and user.groups.filter(name="technician").exists()
        ),
        order=5,
    )
    assert client.get("/").url == "/help/"
    client.force_login(technician)
    assert client.get("/").url == "/jobs/"


def test_core_names_no_support_page():
    """`core` draws the frame; only config and the apps know the desk's and help center's URLs."""
    offenders = []
    for path in [*ROOT.joinpath("core").rglob("*.py"), ROOT / "templates" / "base.html"]:
        text = path.read_text()
        if any(name in text for name in ("desk-home", "help-home", "desk-ticket", "help-ticket")):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
