"""The support admin: constant-query ticket list, service-backed actions, scoped querysets."""

import pytest
from django.contrib import admin
from django.contrib.messages import WARNING, get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.roles import Role
from support.admin import TicketAdmin
from support.models import AgentProfile, AgentProfileEvent, Team, Ticket, TicketEvent
from support.models.choices import AgentStatus, AssignmentStrategy, Status
from support.services import assign_ticket, change_status
from tests.factories import UserFactory

from .factories import AgentProfileFactory, CategoryFactory, TeamFactory, make_ticket

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/support/ticket/"
# The agent profile's change form as a lead submits it unchanged (the inline's management form
# included); tests override what they change.
PROFILE_FORM = {
    "status": AgentStatus.AVAILABLE,
    "capacity": 20,
    "skills": [],
    "chat_enabled": "on",
    "max_concurrent_chats": 3,
    "history-TOTAL_FORMS": 0,
    "history-INITIAL_FORMS": 0,
}


@pytest.fixture
def superuser_client(client, admin_user):
    client.force_login(admin_user)
    return client


def make_tickets(count, *, by, **kwargs):
    team = TeamFactory()
    category = CategoryFactory(slug="billing")
    agent = UserFactory(roles=[Role.AGENT])
    tickets = []
    for i in range(count):
        ticket = make_ticket(
            by=by, customer_email=f"c{i}@example.com", team=team, category=category, **kwargs
        )
        assign_ticket(ticket=ticket, agent=agent, by=by)
        tickets.append(ticket)
    return tickets


def changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries)


def test_ticket_changelist_queries_do_not_grow_with_rows(superuser_client, lead):
    make_tickets(1, by=lead)
    one = changelist_queries(superuser_client)
    make_tickets(19, by=lead)
    assert Ticket.objects.count() == 20

    twenty = changelist_queries(superuser_client)

    assert twenty == one


def test_ticket_changelist_shows_the_tickets_in_sla_order(superuser_client, lead):
    urgent = make_ticket(by=lead, customer_email="a@example.com", priority="urgent")
    low = make_ticket(by=lead, customer_email="b@example.com", priority="low")

    page = superuser_client.get(CHANGELIST).content.decode()

    assert urgent.number in page and low.number in page
    assert page.index(urgent.number) < page.index(low.number)


def test_ticket_changelist_filters_and_searches(superuser_client, lead):
    ticket = make_ticket(by=lead, customer_email="needle@example.com", subject="Needle")
    make_ticket(by=lead, customer_email="hay@example.com", subject="Hay")

    searched = superuser_client.get(CHANGELIST, {"q": "needle@example.com"}).content.decode()
    filtered = superuser_client.get(CHANGELIST, {"status__exact": "open"})

    assert ticket.number in searched and "Hay" not in searched
    assert filtered.status_code == 200


def test_the_admin_queryset_uses_the_desk_scoping(rf, lead):
    agent = UserFactory(roles=[Role.AGENT], is_staff=True)
    mine = TeamFactory(members=[agent])
    theirs = TeamFactory()
    visible = make_ticket(by=lead, customer_email="a@example.com", team=mine)
    hidden = make_ticket(by=lead, customer_email="b@example.com", team=theirs)
    request = rf.get(CHANGELIST)
    request.user = agent

    queryset = TicketAdmin(Ticket, admin.site).get_queryset(request)

    assert visible in queryset
    assert hidden not in queryset


def test_the_ticket_change_page_loads(superuser_client, lead, agent):
    ticket = make_ticket(by=lead, customer_email="c@example.com")
    assign_ticket(ticket=ticket, agent=agent, by=lead, note="Yours")

    response = superuser_client.get(f"{CHANGELIST}{ticket.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert ticket.number in page
    assert "audit trail" in page.lower()
    assert "It spins for ever." in page  # the description is shown, read-only


def test_editing_plain_fields_goes_through_the_service(superuser_client, lead, admin_user):
    ticket = make_ticket(by=lead, customer_email="c@example.com", subject="Old subject")
    team = TeamFactory()
    url = f"{CHANGELIST}{ticket.pk}/change/"

    response = superuser_client.post(
        url,
        {
            "subject": "New subject",
            "channel": ticket.channel,
            "category": "",
            "team": team.pk,
            "tags": [],
            # The inlines are read-only but their management forms still post.
            "messages-TOTAL_FORMS": "0",
            "messages-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": str(ticket.events.count()),
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.team) == ("New subject", team)
    event = ticket.events.get(kind=TicketEvent.Kind.UPDATED)
    assert event.actor == admin_user
    assert event.after == {"subject": "New subject", "team": team.pk}


def run_action(client, action, tickets):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [t.pk for t in tickets]},
        follow=True,
    )


def test_assign_to_me(superuser_client, admin_user, lead):
    ticket = make_ticket(by=lead, customer_email="c@example.com")

    response = run_action(superuser_client, "assign_to_me", [ticket])

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.assigned_to, ticket.status) == (admin_user, Status.ASSIGNED)
    assert ticket.events.filter(kind=TicketEvent.Kind.ASSIGNED, actor=admin_user).exists()


def test_resolve_and_close(superuser_client, lead):
    ticket = make_ticket(by=lead, customer_email="c@example.com")

    run_action(superuser_client, "resolve", [ticket])
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED and ticket.resolved_at is not None

    run_action(superuser_client, "close", [ticket])
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_refusals_become_a_warning_and_the_rest_is_done(superuser_client, lead):
    open_ticket = make_ticket(by=lead, customer_email="a@example.com")
    resolved = make_ticket(by=lead, customer_email="b@example.com")
    change_status(ticket=resolved, to=Status.RESOLVED, by=lead)

    response = run_action(superuser_client, "close", [open_ticket, resolved])

    assert response.status_code == 200
    warnings = [m for m in get_messages(response.wsgi_request) if m.level == WARNING]
    assert len(warnings) == 1
    assert open_ticket.number in str(warnings[0])
    assert Ticket.objects.get(pk=open_ticket.pk).status == Status.OPEN
    assert Ticket.objects.get(pk=resolved.pk).status == Status.CLOSED


def test_assigning_a_closed_ticket_to_me_warns(superuser_client, lead):
    ticket = make_ticket(by=lead, customer_email="c@example.com")
    change_status(ticket=ticket, to=Status.CANCELLED, by=lead)

    response = run_action(superuser_client, "assign_to_me", [ticket])

    warnings = [str(m) for m in get_messages(response.wsgi_request) if m.level == WARNING]
    assert warnings and ticket.number in warnings[0]
    assert Ticket.objects.get(pk=ticket.pk).assigned_to is None


def test_tickets_cannot_be_added_or_deleted_in_the_admin(superuser_client, lead):
    ticket = make_ticket(by=lead, customer_email="c@example.com")
    assert superuser_client.get(f"{CHANGELIST}add/").status_code == 403
    assert superuser_client.get(f"{CHANGELIST}{ticket.pk}/delete/").status_code == 403


@pytest.mark.parametrize(
    "model", ["responsetemplate", "category", "team", "agentprofile", "slapolicy", "tag"]
)
def test_the_other_support_admins_load(superuser_client, model):
    assert superuser_client.get(f"/admin/support/{model}/").status_code == 200
    assert superuser_client.get(f"/admin/support/{model}/add/").status_code == 200


def test_the_agent_profile_admin_saves_through_the_service(superuser_client):
    agent = UserFactory(roles=[Role.AGENT])
    profile = AgentProfileFactory(user=agent, capacity=5)
    before = profile.status_changed_at

    response = superuser_client.post(
        f"/admin/support/agentprofile/{profile.pk}/change/",
        {**PROFILE_FORM, "status": AgentStatus.AWAY, "capacity": 8},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    profile = AgentProfile.objects.get(pk=profile.pk)
    assert (profile.status, profile.capacity) == (AgentStatus.AWAY, 8)
    assert profile.status_changed_at > before


def test_a_lead_edits_an_agents_chat_settings_in_the_admin(client, lead):
    profile = AgentProfileFactory(user=UserFactory(roles=[Role.AGENT]), max_concurrent_chats=3)
    client.force_login(lead)
    url = f"/admin/support/agentprofile/{profile.pk}/change/"

    response = client.post(url, {**PROFILE_FORM, "max_concurrent_chats": 12, "chat_enabled": ""})

    assert response.status_code == 302, response.content.decode()[:2000]
    profile.refresh_from_db()
    assert (profile.chat_enabled, profile.max_concurrent_chats) == (False, 12)
    [event] = AgentProfileEvent.objects.filter(profile=profile)
    assert (event.actor, event.after) == (lead, {"chat_enabled": False, "max_concurrent_chats": 12})
    page = client.get(url).content.decode()
    assert "audit trail" in page.lower() and "max_concurrent_chats" in page


@pytest.mark.parametrize("value", ["51", "-1", "x"])
def test_a_bad_chat_maximum_in_the_admin_is_a_form_error(client, lead, value):
    profile = AgentProfileFactory(user=UserFactory(roles=[Role.AGENT]), max_concurrent_chats=3)
    client.force_login(lead)

    response = client.post(
        f"/admin/support/agentprofile/{profile.pk}/change/",
        {**PROFILE_FORM, "status": AgentStatus.AWAY, "max_concurrent_chats": value},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors.keys() == {"max_concurrent_chats"}
    profile.refresh_from_db()
    assert (profile.status, profile.max_concurrent_chats) == (AgentStatus.AVAILABLE, 3)
    assert not AgentProfileEvent.objects.exists()


def test_the_team_admin_keeps_the_round_robin_pointer_read_only(superuser_client):
    team = TeamFactory(strategy=AssignmentStrategy.ROUND_ROBIN)
    page = superuser_client.get(f"/admin/support/team/{team.pk}/change/").content.decode()
    assert 'name="last_assigned_to"' not in page
    assert Team.objects.get(pk=team.pk).strategy == AssignmentStrategy.ROUND_ROBIN


@pytest.mark.parametrize("field", ["customer", "assigned_to", "team", "category", "organization"])
def test_the_ticket_autocompletes_answer(superuser_client, field):
    response = superuser_client.get(
        "/admin/autocomplete/",
        {"app_label": "support", "model_name": "ticket", "field_name": field, "term": "a"},
    )
    assert response.status_code == 200


# --- an agent's tool: scoped lists, kernel search, claim, reply and note -----------------------


@pytest.fixture
def agent_admin(client, db):
    agent = UserFactory(roles=[Role.AGENT], is_staff=True, full_name="Avery Admin")
    client.force_login(agent)
    return client, agent


def test_an_agent_works_a_ticket_in_the_admin(agent_admin, customer):
    client, agent = agent_admin
    ticket = make_ticket(by=customer, subject="Printer jammed on page two")
    found = client.get("/admin/support/ticket/?q=printer jamed").content.decode()
    assert ticket.number in found  # the kernel's search: words, typos forgiven
    client.post(
        "/admin/support/ticket/",
        {"action": "claim", "_selected_action": [ticket.pk]},
    )
    ticket.refresh_from_db()
    assert ticket.assigned_to == agent
    change = client.get(f"/admin/support/ticket/{ticket.pk}/change/").content.decode()
    assert f"/admin/support/ticket/{ticket.pk}/reply/" in change
    client.post(
        f"/admin/support/ticket/{ticket.pk}/reply/",
        {"body": "Noted **internally**", "internal": "on"},
    )
    client.post(f"/admin/support/ticket/{ticket.pk}/reply/", {"body": "We are on it."})
    note, reply = ticket.messages.order_by("pk")
    assert note.is_internal and "<strong>internally</strong>" in note.body_html
    assert not reply.is_internal and reply.author == agent
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None


def test_an_agent_cannot_reach_another_teams_ticket_in_the_admin(agent_admin, customer):
    client, _ = agent_admin
    ticket = make_ticket(by=customer)
    Ticket.objects.filter(pk=ticket.pk).update(team=TeamFactory())
    assert client.get(f"/admin/support/ticket/{ticket.pk}/reply/").status_code == 404
    response = client.post(f"/admin/support/ticket/{ticket.pk}/reply/", {"body": "sneaky"})
    assert response.status_code == 404
    assert not ticket.messages.exists()
    assert ticket.number not in client.get("/admin/support/ticket/").content.decode()


def test_the_admin_admits_the_desk_roles_and_no_one_else(client, agent, lead, customer):
    for person in (agent, lead):
        assert not person.is_staff  # a role is enough; the flag stays for other accounts
        client.force_login(person)
        assert client.get("/admin/").status_code == 200
        assert 'href="/admin/"' in client.get("/desk/").content.decode()  # the desk's link
    client.force_login(customer)
    assert client.get("/admin/").status_code == 302  # to the sign-in page
    assert client.get(CHANGELIST).status_code == 302


def test_an_agent_sees_and_sets_only_their_own_status_in_the_admin(client, agent):
    own = AgentProfileFactory(user=agent, capacity=5)
    other = AgentProfileFactory(user=UserFactory(roles=[Role.AGENT]), capacity=5)
    client.force_login(agent)
    listing = client.get("/admin/support/agentprofile/").content.decode()
    assert f"/admin/support/agentprofile/{own.pk}/change/" in listing
    assert f"/admin/support/agentprofile/{other.pk}/change/" not in listing
    assert client.get(f"/admin/support/agentprofile/{other.pk}/change/").status_code == 302
    page = client.get(f"/admin/support/agentprofile/{own.pk}/change/").content.decode()
    assert 'name="status"' in page
    assert 'name="max_concurrent_chats"' not in page and 'name="chat_enabled"' not in page
    client.post(
        f"/admin/support/agentprofile/{own.pk}/change/",
        {"status": AgentStatus.AWAY, "capacity": 50, "max_concurrent_chats": 50},
    )
    own.refresh_from_db()
    assert (own.status, own.capacity) == (AgentStatus.AWAY, 5)  # capacity is the lead's
    assert own.max_concurrent_chats == 3  # and so are the chat settings


def test_a_lead_edits_escalation_policies_and_calendar_days(client, lead):
    client.force_login(lead)
    assert client.get("/admin/support/escalationpolicy/add/").status_code == 200
    page = client.get("/admin/core/businesscalendar/add/").content.decode()
    assert "holidays-TOTAL_FORMS" in page and "intervals-TOTAL_FORMS" in page
