"""Who may do what: each action's predicate, the API's answer and the page's button agree.

One row per (action, role). `predicate` is what `support.permissions` answers for that user and
ticket; `api` is the status of the endpoint; `button` says whether the ticket page (the desk for
staff, the help center for customers and for the rating/closing rows) offers it, or `404` when
the page is not theirs to see. An agent outside the ticket's team never reaches a predicate
about it: the ticket is out of their scope (`visible_to`), so both API and page answer 404.
"""

import pytest

from core import permissions as core_permissions
from core.roles import Role
from support import permissions as p
from support.services import resolve_ticket, update_ticket
from tests.factories import UserFactory

from .factories import TeamFactory, make_ticket

pytestmark = pytest.mark.django_db

ROLES = ("customer", "agent_on_team", "agent_off_team", "lead", "admin")


@pytest.fixture
def world(customer):
    on_team = UserFactory(roles=[Role.AGENT], full_name="On Team")
    teammate = UserFactory(roles=[Role.AGENT], full_name="Team Mate")
    off_team = UserFactory(roles=[Role.AGENT], full_name="Off Team")
    lead = UserFactory(roles=[Role.SUPPORT_LEAD], full_name="Lee Lead")
    admin = UserFactory(roles=[Role.ADMIN], is_staff=True, is_superuser=True)
    team = TeamFactory(members=[on_team, teammate], strategy="manual")
    TeamFactory(members=[off_team], strategy="manual")
    ticket = make_ticket(by=customer, subject="Printer on fire")
    update_ticket(ticket=ticket, by=lead, team=team)
    ticket.refresh_from_db()
    users = {
        "customer": customer,
        "agent_on_team": on_team,
        "agent_off_team": off_team,
        "lead": lead,
        "admin": admin,
    }
    return {
        "users": users,
        "ticket": ticket,
        "teammate": teammate,
        "outsider": off_team,
        "lead": lead,
    }


def _resolved(world):
    resolve_ticket(ticket=world["ticket"], by=world["lead"])
    world["ticket"].refresh_from_db()


T, F = True, False
# action: (predicate, api status, button) per role, in ROLES order; "-" = no button for it.
TABLE = {
    "escalate": [(F, 403, 404), (T, 201, T), (T, 404, 404), (T, 201, T), (T, 201, T)],
    "remind_customer": [(F, 403, 404), (T, 202, T), (T, 404, 404), (T, 202, T), (T, 202, T)],
    "claim": [(F, 403, 404), (T, 200, T), (T, 404, 404), (T, 200, T), (T, 200, T)],
    "assign_to_teammate": [
        (F, 403, "-"),
        (T, 200, "-"),
        (T, 404, "-"),
        (T, 200, "-"),
        (T, 200, "-"),
    ],
    "assign_to_outsider": [
        (F, 403, "-"),
        (F, 400, "-"),  # another team's agent reads as an id that does not exist
        (T, 404, "-"),
        (T, 200, "-"),
        (T, 200, "-"),
    ],
    "rate": [(T, 200, T), (F, 403, F), (F, 404, 404), (F, 403, F), (F, 403, F)],
    "close": [(T, 200, T), (T, 200, T), (T, 404, 404), (T, 200, T), (T, 200, T)],
    "use_templates": [(F, 403, "-"), (T, 200, "-"), (T, 200, "-"), (T, 200, "-"), (T, 200, "-")],
    "edit_templates": [(F, 403, "-"), (F, 403, "-"), (F, 403, "-"), (T, 201, "-"), (T, 201, "-")],
    "override_sla": [(F, 403, "-"), (F, 403, "-"), (F, 403, "-"), (T, 200, "-"), (T, 200, "-")],
    "see_internal": [(F, 403, 404), (T, 200, T), (T, 404, 404), (T, 200, T), (T, 200, T)],
    # Every desk role works in the admin too (issue 19); what each sees there is scoped.
    "see_admin": [(F, 302, F), (T, 200, T), (T, 200, T), (T, 200, T), (T, 200, T)],
}
CASES = [
    pytest.param(action, role, *TABLE[action][i], id=f"{action}-{role}")
    for action in TABLE
    for i, role in enumerate(ROLES)
]


def _predicate(action, user, world):
    ticket = world["ticket"]
    return {
        "escalate": lambda: p.can_escalate(user, ticket),
        "remind_customer": lambda: p.can_remind(user, ticket, "customer"),
        "claim": lambda: p.can_claim(user, ticket),
        "assign_to_teammate": lambda: p.can_assign_to(user, ticket, world["teammate"]),
        "assign_to_outsider": lambda: p.can_assign_to(user, ticket, world["outsider"]),
        "rate": lambda: p.can_rate(user, ticket),
        "close": lambda: p.can_close(user, ticket),
        "use_templates": lambda: p.can_use_templates(user),
        "edit_templates": lambda: p.can_edit_templates(user),
        "override_sla": lambda: p.can_override_sla(user, ticket),
        "see_internal": lambda: p.can_see_internal(user, ticket),
        "see_admin": lambda: core_permissions.can_see_admin(user),
    }[action]()


def _call_api(action, api_client, client, world):
    ticket = world["ticket"]
    base = f"/api/v1/support/tickets/{ticket.pk}"
    post = api_client.post
    if action == "escalate":
        return post(f"{base}/escalate/", {"reason": "Angry"}, format="json")
    if action == "remind_customer":
        return post(f"{base}/remind/", {"target": "customer"}, format="json")
    if action == "claim":
        return post(f"{base}/claim/", format="json")
    if action == "assign_to_teammate":
        return post(f"{base}/assign/", {"agent": world["teammate"].pk}, format="json")
    if action == "assign_to_outsider":
        return post(f"{base}/assign/", {"agent": world["outsider"].pk}, format="json")
    if action == "rate":
        return post(f"{base}/rate/", {"rating": 5}, format="json")
    if action == "close":
        return post(f"{base}/close/", {}, format="json")
    if action == "use_templates":
        return api_client.get("/api/v1/support/templates/")
    if action == "edit_templates":
        body = {"name": "Hi", "channel": "email", "subject": "Re", "body": "Hello"}
        return post("/api/v1/support/templates/", body, format="json")
    if action == "override_sla":
        body = {"first_response_minutes": 30, "reason": "Launch week"}
        return api_client.patch(f"{base}/sla/", body, format="json")
    if action == "see_internal":
        return api_client.get(f"{base}/escalations/")
    if action == "see_admin":
        return client.get("/admin/")
    raise AssertionError(action)


BUTTONS = {
    "escalate": "Escalate one level",
    "remind_customer": '<option value="customer">',
    "claim": 'value="claim"',
    "rate": "How did we do?",
    "close": "Yes, it's solved: close it",
    "see_internal": 'name="internal"',
    "see_admin": ">Admin</a>",
}
HELP_CENTER_ACTIONS = {"rate", "close"}


def _page(action, role, client, world):
    ticket = world["ticket"]
    if action == "see_admin":  # the menu of the viewer's own home page
        return client.get("/help/" if role == "customer" else "/desk/")
    if action in HELP_CENTER_ACTIONS:
        return client.get(f"/help/tickets/{ticket.number}/")
    if role == "customer":
        return client.get(f"/help/tickets/{ticket.number}/")
    return client.get(f"/desk/tickets/{ticket.number}/")


@pytest.mark.parametrize(("action", "role", "predicate", "api", "button"), CASES)
def test_role_by_action(action, role, predicate, api, button, world, api_client, client):
    user = world["users"][role]
    if action in ("rate", "close"):
        _resolved(world)
    assert _predicate(action, user, world) is predicate

    client.force_login(user)
    if button != "-":
        page = _page(action, role, client, world)
        if button == 404:
            # The customer has no desk page; the off-team agent cannot see the ticket at all.
            desk = client.get(f"/desk/tickets/{world['ticket'].number}/")
            assert desk.status_code in (403, 404)
            if role == "agent_off_team":
                assert page.status_code == 404
        else:
            assert page.status_code == 200
            assert (BUTTONS[action] in page.content.decode()) is button, page.content.decode()

    api_client.force_authenticate(user)
    response = _call_api(action, api_client, client, world)
    assert response.status_code == api, getattr(response, "data", response)


def test_buttons_follow_the_ticket_state(client, world):
    """A closed ticket offers no escalation, reminder, claim or reply, even to a lead."""
    from support.services import change_status

    lead, ticket = world["lead"], world["ticket"]
    change_status(ticket=ticket, to="cancelled", by=lead)
    client.force_login(lead)
    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    for absent in ("Escalate one level", "Send reminder", 'value="claim"', "<h2>Reply</h2>"):
        assert absent not in page


def test_the_assignee_option_needs_an_assignee(client, world):
    agent, ticket = world["users"]["agent_on_team"], world["ticket"]
    client.force_login(agent)
    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert '<option value="assignee">' not in page and '<option value="customer">' in page
    client.post(f"/desk/tickets/{ticket.number}/action/", {"action": "claim"})
    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert '<option value="assignee">' in page


def test_services_refuse_with_the_predicates_message(world):
    from core.errors import NotAllowed
    from support.services import claim_ticket, escalation, rate_ticket

    customer, agent, ticket = (
        world["users"]["customer"],
        world["users"]["agent_on_team"],
        world["ticket"],
    )
    with pytest.raises(NotAllowed, match="Only support staff may escalate tickets."):
        escalation.escalate_ticket(ticket=ticket, by=customer, reason="x")
    with pytest.raises(NotAllowed, match="Only support staff may claim tickets."):
        claim_ticket(ticket=ticket, by=customer)
    _resolved(world)
    with pytest.raises(NotAllowed, match="Only the ticket's customer can rate it."):
        rate_ticket(ticket=ticket, by=agent, rating=5)


def test_the_can_tag_asks_a_declared_action(world):
    from django.template import Context, Template

    template = Template('{% load permissions %}{% can "support.escalate" t as ok %}{{ ok }}')
    for role, expected in (("customer", "False"), ("agent_on_team", "True")):
        context = Context({"user": world["users"][role], "t": world["ticket"]})
        assert template.render(context) == expected


def test_every_action_is_declared_once_with_a_message():
    names = [name for name in core_permissions.ACTIONS if name.startswith("support.")]
    assert len(names) == len(set(names)) > 20
    assert all(core_permissions.ACTIONS[name].message for name in names)
