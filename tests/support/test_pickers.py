"""Who may be picked: every input that names a person accepts only people the caller may pick.

An id outside the caller's scope gets the answer of an id that does not exist (same status and
body, no name or e-mail), so ids cannot be probed for who exists.
"""

import pytest

from core.errors import DomainError
from core.roles import Role
from support.models import Team, Ticket, TicketEscalation
from support.models.choices import AssignmentStrategy
from support.services import assign_ticket
from support.services.escalation import escalate_ticket
from tests.factories import UserFactory

from .factories import TeamFactory, make_ticket

API = "/api/v1/support"
MISSING = 987_654_321


@pytest.fixture
def world(db, agent, lead, customer):
    teammate = UserFactory(roles=[Role.AGENT], full_name="Tess Teammate")
    outsider = UserFactory(roles=[Role.AGENT], full_name="Otto Outsider")
    inactive = UserFactory(roles=[Role.AGENT], full_name="Ina Inactive", is_active=False)
    team = TeamFactory(strategy=AssignmentStrategy.MANUAL, members=[agent, teammate, inactive])
    other_team = TeamFactory(strategy=AssignmentStrategy.MANUAL, members=[outsider])
    ticket = make_ticket(by=lead, customer=customer, team=team)
    return {
        "agent": agent,
        "lead": lead,
        "customer": customer,
        "teammate": teammate,
        "outsider": outsider,
        "inactive": inactive,
        "team": team,
        "other_team": other_team,
        "ticket": ticket,
    }


def _assign(api_client, ticket, pk):
    return api_client.post(f"{API}/tickets/{ticket.pk}/assign/", {"agent": pk}, format="json")


def _missing_body(field, pk):
    return {
        "detail": "Invalid input.",
        "code": "does_not_exist",
        "errors": {field: [f'Invalid pk "{pk}" - object does not exist.']},
    }


ASSIGN_CASES = [
    # caller, assignee, expected status (400: answered like an id that does not exist)
    ("agent", "agent", 200),
    ("agent", "teammate", 200),
    ("agent", "outsider", 400),
    ("agent", "customer", 400),
    ("agent", "inactive", 400),
    ("lead", "outsider", 200),
    ("lead", "customer", 400),
    ("lead", "inactive", 400),
]


@pytest.mark.parametrize(("caller", "assignee", "expected"), ASSIGN_CASES)
def test_assignee_picker(api_client, world, caller, assignee, expected):
    ticket, person = world["ticket"], world[assignee]
    api_client.force_authenticate(world[caller])

    response = _assign(api_client, ticket, person.pk)

    assert response.status_code == expected, response.json()
    ticket.refresh_from_db()
    if expected == 200:
        assert ticket.assigned_to == person
    else:
        assert response.json() == _missing_body("agent", person.pk)
        assert ticket.assigned_to is None
        assert person.full_name not in response.content.decode()
        assert person.email not in response.content.decode()


@pytest.mark.parametrize("assignee", ["customer", "outsider", "inactive"])
def test_an_out_of_scope_assignee_reads_exactly_like_a_missing_id(api_client, world, assignee):
    api_client.force_authenticate(world["agent"])
    ticket = world["ticket"]

    missing = _assign(api_client, ticket, MISSING)
    out_of_scope = _assign(api_client, ticket, world[assignee].pk)

    assert missing.status_code == out_of_scope.status_code == 400
    assert out_of_scope.json() == {
        **missing.json(),
        "errors": {"agent": [f'Invalid pk "{world[assignee].pk}" - object does not exist.']},
    }


def test_the_service_refuses_like_the_api(world):
    """Pages and the admin call the service: same rule, same answer."""
    with pytest.raises(DomainError) as refused:
        assign_ticket(ticket=world["ticket"], agent=world["customer"], by=world["lead"])
    assert refused.value.code == "does_not_exist"
    assert refused.value.errors == {
        "agent": [f'Invalid pk "{world["customer"].pk}" - object does not exist.']
    }
    assert Ticket.objects.get(pk=world["ticket"].pk).assigned_to is None


# --- manual escalation ------------------------------------------------------------------------


def _escalate(api_client, ticket, **body):
    return api_client.post(
        f"{API}/tickets/{ticket.pk}/escalate/", {"reason": "Urgent", **body}, format="json"
    )


ESCALATE_CASES = [
    # caller, body (names resolved from the world), expected status
    ("agent", {"user": "teammate"}, 201),
    ("agent", {"user": "lead"}, 201),
    ("agent", {"team": "other_team", "user": "outsider"}, 201),
    ("agent", {"user": "outsider"}, 400),  # not on the ticket's team, no team named
    ("agent", {"team": "team", "user": "outsider"}, 400),
    ("agent", {"user": "customer"}, 400),
    ("lead", {"user": "outsider"}, 201),
    ("lead", {"user": "customer"}, 400),
]


@pytest.mark.parametrize(("caller", "body", "expected"), ESCALATE_CASES)
def test_escalation_target_picker(api_client, world, caller, body, expected):
    ticket = world["ticket"]
    api_client.force_authenticate(world[caller])
    resolved = {key: world[name].pk for key, name in body.items()}

    response = _escalate(api_client, ticket, **resolved)

    assert response.status_code == expected, response.json()
    if expected == 400:
        assert response.json() == _missing_body("user", resolved["user"])
        assert not TicketEscalation.objects.filter(ticket=ticket).exists()
        ticket.refresh_from_db()
        assert ticket.escalation_level == 0
        assert ticket.assigned_to is None
    else:
        ticket.refresh_from_db()
        assert ticket.assigned_to == world[body["user"]]


def test_the_escalation_service_refuses_a_customer(world):
    with pytest.raises(DomainError) as refused:
        escalate_ticket(
            ticket=world["ticket"], by=world["agent"], reason="Help", user=world["customer"]
        )
    assert refused.value.code == "does_not_exist"


# --- filing on someone's behalf ---------------------------------------------------------------


def _file(api_client, **body):
    return api_client.post(f"{API}/tickets/", {"subject": "Printer on fire", **body}, format="json")


def test_staff_file_for_a_customer(api_client, world):
    api_client.force_authenticate(world["agent"])

    response = _file(api_client, customer=world["customer"].pk)

    assert response.status_code == 201, response.json()
    assert Ticket.objects.get(pk=response.json()["id"]).customer == world["customer"]


@pytest.mark.parametrize("person", ["teammate", "inactive"])
def test_staff_cannot_file_for_staff_or_an_inactive_account(api_client, world, person):
    api_client.force_authenticate(world["agent"])
    before = Ticket.objects.count()

    response = _file(api_client, customer=world[person].pk)

    assert response.status_code == 400
    assert response.json() == _missing_body("customer", world[person].pk)
    assert Ticket.objects.count() == before


def test_a_customer_cannot_name_another_customer(api_client, world, organization):
    other = UserFactory(roles=[Role.CUSTOMER], organization=organization)
    api_client.force_authenticate(world["customer"])
    before = Ticket.objects.count()

    named = _file(api_client, customer=other.pk)
    missing = _file(api_client, customer=MISSING)

    assert named.status_code == missing.status_code == 400
    assert named.json() == _missing_body("customer", other.pk)
    assert missing.json() == _missing_body("customer", MISSING)
    assert other.email not in named.content.decode()
    assert Ticket.objects.count() == before


def test_a_customer_naming_themselves_files_their_own(api_client, world):
    api_client.force_authenticate(world["customer"])

    response = _file(api_client, customer=world["customer"].pk)

    assert response.status_code == 201
    assert Ticket.objects.get(pk=response.json()["id"]).customer == world["customer"]


# --- teams ------------------------------------------------------------------------------------


def test_team_members_are_active_staff(api_client, world):
    api_client.force_authenticate(world["lead"])
    team = world["team"]

    for person in ("customer", "inactive"):
        response = api_client.patch(
            f"{API}/teams/{team.pk}/",
            {"members": [world["agent"].pk, world[person].pk]},
            format="json",
        )
        assert response.status_code == 400
        assert response.json() == _missing_body("members", world[person].pk)
    assert world["customer"] not in Team.objects.get(pk=team.pk).members.all()

    ok = api_client.patch(
        f"{API}/teams/{team.pk}/", {"members": [world["agent"].pk]}, format="json"
    )
    assert ok.status_code == 200


def test_admin_team_and_profile_pickers_offer_staff_only(rf, world, admin_user):
    from django.contrib import admin

    from support.models import AgentProfile

    request = rf.get("/")
    request.user = admin_user
    team_admin = admin.site._registry[Team]
    members = team_admin.formfield_for_manytomany(Team._meta.get_field("members"), request)
    profile_admin = admin.site._registry[AgentProfile]
    user = profile_admin.formfield_for_foreignkey(AgentProfile._meta.get_field("user"), request)

    for field in (members, user):
        offered = set(field.queryset)
        assert world["agent"] in offered and world["lead"] in offered
        assert world["customer"] not in offered
        assert world["inactive"] not in offered


def test_escalation_levels_notify_staff_only(api_client, lead, customer):
    api_client.force_authenticate(lead)
    response = api_client.post(
        "/api/v1/support/escalation-policies/",
        {"name": "Customers told", "levels": [{"level": 1, "notify_users": [customer.pk]}]},
        format="json",
    )
    assert response.status_code == 400, response.json()
    assert "does not exist" in str(response.json()["errors"]["levels"])
    assert customer.email not in str(response.json())
    allowed = api_client.post(
        "/api/v1/support/escalation-policies/",
        {"name": "Lead told", "levels": [{"level": 1, "notify_users": [lead.pk]}]},
        format="json",
    )
    assert allowed.status_code == 201, allowed.json()
