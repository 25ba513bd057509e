"""The ticket state machine (DESIGN §4): every pair of the table, customer rights, auto-close."""

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from core.errors import Conflict
from support import services
from support.models import Ticket, TicketEvent
from support.models.choices import Status
from support.tasks import auto_close_resolved_tickets
from support.workflow import TRANSITIONS, allowed_targets

from .factories import make_ticket

pytestmark = pytest.mark.django_db

Kind = TicketEvent.Kind
PAIRS = [(a, b) for a, b in itertools.permutations(Status.values, 2)]
ALLOWED = [(a, b) for a, b in PAIRS if b in TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in PAIRS if b not in TRANSITIONS[a]]


def _put_in(ticket, status, *, assignee=None, **extra):
    """Reach a from-state without going through the service (so no event is written)."""
    Ticket.objects.filter(pk=ticket.pk).update(status=status, assigned_to=assignee, **extra)
    ticket.refresh_from_db()
    return ticket


def _status_events(ticket):
    return list(TicketEvent.objects.filter(ticket=ticket, kind=Kind.STATUS_CHANGED))


def test_the_parametrisation_covers_the_whole_table():
    assert len(ALLOWED) + len(REFUSED) == 8 * 7
    assert len(ALLOWED) == sum(len(targets) for targets in TRANSITIONS.values())


@pytest.mark.parametrize(("source", "target"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_allowed_transition_succeeds_with_one_audited_event(customer, agent, source, target):
    ticket = _put_in(make_ticket(by=customer), source, assignee=agent)
    result = services.change_status(ticket=ticket, to=target, by=agent, note="why")
    ticket.refresh_from_db()
    assert ticket.status == target == result.status
    [event] = _status_events(ticket)
    assert event.actor == agent
    assert event.before == {"status": source}
    assert event.after == {"status": target}
    assert event.note == "why"
    if target == Status.RESOLVED:
        assert ticket.resolved_at is not None
    if target in (Status.CLOSED, Status.CANCELLED):
        assert ticket.closed_at is not None
    if source == Status.ASSIGNED and target == Status.OPEN:
        assert ticket.assigned_to is None


@pytest.mark.parametrize(("source", "target"), REFUSED, ids=[f"{a}->{b}" for a, b in REFUSED])
def test_refused_transition_raises_conflict_naming_allowed_and_changes_nothing(
    customer, agent, source, target
):
    ticket = _put_in(make_ticket(by=customer), source, assignee=agent)
    before = Ticket.objects.values().get(pk=ticket.pk)
    events_before = TicketEvent.objects.filter(ticket=ticket).count()
    with pytest.raises(Conflict) as info:
        services.change_status(ticket=ticket, to=target, by=agent)
    assert info.value.status_code == 409
    assert info.value.code == "invalid_transition"
    assert info.value.extra["allowed"] == allowed_targets(source)
    assert info.value.extra["status"] == source
    assert Ticket.objects.values().get(pk=ticket.pk) == before
    assert TicketEvent.objects.filter(ticket=ticket).count() == events_before


def test_same_status_is_a_no_op_without_event(customer, agent):
    ticket = _put_in(make_ticket(by=customer), Status.IN_PROGRESS, assignee=agent)
    services.change_status(ticket=ticket, to=Status.IN_PROGRESS, by=agent)
    assert _status_events(ticket) == []


def test_assigned_needs_an_assignee(customer, agent):
    ticket = make_ticket(by=customer)
    with pytest.raises(Conflict) as info:
        services.change_status(ticket=ticket, to=Status.ASSIGNED, by=agent)
    assert info.value.code == "no_assignee"
    assert _status_events(ticket) == []


def test_unknown_status_is_refused(customer, agent):
    ticket = make_ticket(by=customer)
    with pytest.raises(Conflict) as info:
        services.change_status(ticket=ticket, to="bogus", by=agent)
    assert info.value.code == "invalid_status"


# --- through the API -------------------------------------------------------------------------


def test_api_refused_transition_is_409_with_allowed(api_client, customer, agent):
    ticket = _put_in(make_ticket(by=customer), Status.IN_PROGRESS, assignee=agent)
    api_client.force_authenticate(agent)
    response = api_client.post(
        f"/api/v1/support/tickets/{ticket.pk}/status/", {"status": "open"}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_transition"
    assert body["allowed"] == allowed_targets(Status.IN_PROGRESS)
    assert set(body) >= {"detail", "code", "errors"}
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS


def test_api_closed_ticket_allows_nothing(api_client, customer, agent):
    ticket = _put_in(make_ticket(by=customer), Status.CLOSED)
    api_client.force_authenticate(agent)
    response = api_client.post(f"/api/v1/support/tickets/{ticket.number}/reopen/", {})
    assert response.status_code == 409
    assert response.json()["allowed"] == []


def test_api_allowed_transition_returns_the_ticket(api_client, customer, agent):
    ticket = make_ticket(by=customer)
    api_client.force_authenticate(agent)
    response = api_client.post(f"/api/v1/support/tickets/{ticket.pk}/resolve/", {"note": "done"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == Status.RESOLVED
    assert response.json()["allowed_transitions"] == allowed_targets(Status.RESOLVED)


# --- customer rights -------------------------------------------------------------------------


def test_customer_closes_a_resolved_ticket(api_client, customer):
    ticket = _put_in(make_ticket(by=customer), Status.RESOLVED, resolved_at=timezone.now())
    api_client.force_authenticate(customer)
    response = api_client.post(f"/api/v1/support/tickets/{ticket.pk}/close/", {})
    assert response.status_code == 200, response.content
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    [event] = _status_events(ticket)
    assert event.actor == customer


def test_customer_cancels_their_open_ticket(api_client, customer):
    ticket = make_ticket(by=customer)
    api_client.force_authenticate(customer)
    response = api_client.post(f"/api/v1/support/tickets/{ticket.pk}/cancel/", {})
    assert response.status_code == 200, response.content
    ticket.refresh_from_db()
    assert ticket.status == Status.CANCELLED


def test_customer_may_not_resolve(api_client, customer):
    ticket = make_ticket(by=customer)
    api_client.force_authenticate(customer)
    response = api_client.post(f"/api/v1/support/tickets/{ticket.pk}/resolve/", {})
    assert response.status_code == 403
    assert set(response.json()) >= {"detail", "code", "errors"}
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_customer_may_not_resolve_through_the_generic_status_action(api_client, customer):
    ticket = make_ticket(by=customer)
    api_client.force_authenticate(customer)
    response = api_client.post(
        f"/api/v1/support/tickets/{ticket.pk}/status/", {"status": "resolved"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["allowed"] == allowed_targets(Status.OPEN, staff=False)
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_customer_service_refusal_names_customer_targets(customer):
    ticket = make_ticket(by=customer)
    with pytest.raises(Conflict) as info:
        services.change_status(ticket=ticket, to=Status.RESOLVED, by=customer)
    assert info.value.extra["allowed"] == [Status.CANCELLED]


def test_customer_may_not_close_an_unresolved_ticket(api_client, customer):
    ticket = make_ticket(by=customer)
    api_client.force_authenticate(customer)
    response = api_client.post(f"/api/v1/support/tickets/{ticket.pk}/close/", {})
    assert response.status_code == 409
    assert response.json()["allowed"] == [Status.CANCELLED]


# --- auto-close ------------------------------------------------------------------------------


def _resolved(customer, *, days_ago, now):
    ticket = make_ticket(by=customer)
    return _put_in(ticket, Status.RESOLVED, resolved_at=now - dt.timedelta(days=days_ago))


def test_auto_close_closes_only_old_resolved_tickets(customer, settings):
    settings.TICKET_AUTO_CLOSE_DAYS = 7
    now = timezone.now()
    old = _resolved(customer, days_ago=8, now=now)
    fresh = _resolved(customer, days_ago=6, now=now)
    active = make_ticket(by=customer)
    assert services.auto_close_resolved(now=now) == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    active.refresh_from_db()
    assert old.status == Status.CLOSED
    assert old.closed_at == now
    assert fresh.status == Status.RESOLVED
    assert active.status == Status.OPEN
    [event] = _status_events(old)
    assert event.actor is None
    assert event.before == {"status": "resolved"} and event.after == {"status": "closed"}
    # A second run changes nothing.
    assert services.auto_close_resolved(now=now) == 0
    assert len(_status_events(old)) == 1


def test_auto_close_respects_the_setting(customer, settings):
    settings.TICKET_AUTO_CLOSE_DAYS = 2
    now = timezone.now()
    ticket = _resolved(customer, days_ago=3, now=now)
    assert services.auto_close_resolved(now=now) == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_auto_close_task_drains_the_backlog_batch_by_batch(customer, monkeypatch):
    monkeypatch.setattr("support.tasks.AUTO_CLOSE_BATCH", 2)
    now = timezone.now()
    tickets = [_resolved(customer, days_ago=30 + n, now=now) for n in range(5)]
    assert auto_close_resolved_tickets() == 5  # batches of 2, 2 and 1 in one run
    assert set(
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("status", flat=True)
    ) == {Status.CLOSED}


def test_auto_close_task_stops_at_its_time_budget(customer, monkeypatch):
    monkeypatch.setattr("support.tasks.AUTO_CLOSE_BATCH", 1)
    monkeypatch.setattr("support.tasks.AUTO_CLOSE_SECONDS", 0)
    now = timezone.now()
    for n in range(3):
        _resolved(customer, days_ago=30 + n, now=now)
    assert auto_close_resolved_tickets() == 1  # the next hourly run goes on


def test_auto_close_task_closes_for_real(customer):
    ticket = _resolved(customer, days_ago=30, now=timezone.now())
    assert auto_close_resolved_tickets.apply().get() == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
