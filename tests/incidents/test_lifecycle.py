"""The incident lifecycle: every move of the table allowed, every other refused (409)."""

import re
from datetime import timedelta
from itertools import product

import pytest
from django.utils import timezone

from core.errors import Conflict, DomainError, NotAllowed
from core.workflow import STAFF, TransitionRefused
from incidents import services
from incidents.models import (
    TARGETS,
    ComponentState,
    Incident,
    IncidentEvent,
    IncidentUpdate,
    PostMortem,
    Severity,
    Status,
)
from incidents.workflow import INCIDENT

from .factories import at, make_component, make_incident

pytestmark = pytest.mark.django_db

S = Status
ALLOWED = {
    (S.DETECTED, S.INVESTIGATING),
    (S.DETECTED, S.IDENTIFIED),
    (S.DETECTED, S.MONITORING),
    (S.DETECTED, S.RESOLVED),
    (S.INVESTIGATING, S.IDENTIFIED),
    (S.INVESTIGATING, S.MONITORING),
    (S.INVESTIGATING, S.RESOLVED),
    (S.IDENTIFIED, S.INVESTIGATING),
    (S.IDENTIFIED, S.MONITORING),
    (S.IDENTIFIED, S.RESOLVED),
    (S.MONITORING, S.INVESTIGATING),
    (S.MONITORING, S.IDENTIFIED),
    (S.MONITORING, S.RESOLVED),
    (S.RESOLVED, S.INVESTIGATING),
    (S.RESOLVED, S.CLOSED),
}
PAIRS = [(a, b) for a, b in product(Status.values, Status.values) if a != b]


def incident_in(status, *, by, severity=Severity.LOW):
    """An incident put into `status` directly (the path there is not what is tested)."""
    incident = make_incident(by=by, severity=severity)
    Incident.objects.filter(pk=incident.pk).update(status=status)
    incident.refresh_from_db()
    return incident


def test_the_table_is_the_one_tested():
    assert {(t.source, t.target) for t in INCIDENT.transitions} == ALLOWED
    assert INCIDENT.allowed(S.CLOSED, party=STAFF) == []


@pytest.mark.parametrize(("source", "target"), sorted(ALLOWED))
def test_every_allowed_move_is_made_and_recorded(agent, source, target):
    incident = incident_in(source, by=agent)
    moved = services.change_status(incident=incident, by=agent, to=target, message="Note")
    assert moved.status == target
    event = IncidentEvent.objects.get(incident=incident, kind=IncidentEvent.Kind.STATUS_CHANGED)
    assert (event.before, event.after, event.actor) == (
        {"status": source},
        {"status": target},
        agent,
    )
    entry = IncidentUpdate.objects.get(incident=incident)
    assert (entry.kind, entry.status, entry.body) == ("status_change", target, "Note")


@pytest.mark.parametrize(("source", "target"), sorted(set(PAIRS) - ALLOWED))
def test_every_other_move_is_refused_and_changes_nothing(agent, source, target):
    incident = incident_in(source, by=agent)
    with pytest.raises(TransitionRefused) as refused:
        services.change_status(incident=incident, by=agent, to=target)
    assert refused.value.extra == {
        "status": source,
        "allowed": sorted(t for s, t in ALLOWED if s == source),
    }
    incident.refresh_from_db()
    assert incident.status == source
    assert not IncidentUpdate.objects.filter(incident=incident).exists()
    assert not incident.events.filter(kind=IncidentEvent.Kind.STATUS_CHANGED).exists()


def test_moving_to_the_status_it_has_changes_nothing(agent):
    incident = incident_in(S.INVESTIGATING, by=agent)
    services.change_status(incident=incident, by=agent, to=S.INVESTIGATING)
    assert not IncidentUpdate.objects.filter(incident=incident).exists()


def test_customers_cannot_run_incidents(customer, agent):
    incident = make_incident(by=agent)
    with pytest.raises(NotAllowed):
        services.change_status(incident=incident, by=customer, to=S.INVESTIGATING)
    with pytest.raises(NotAllowed):
        make_incident(by=customer)


def test_the_number_is_inc_date_and_a_counter(agent):
    with at("2026-12-02T10:00:00Z"):
        first, second = make_incident(by=agent), make_incident(by=agent)
    assert re.fullmatch(r"INC-20261202-\d{4}", first.number)
    assert int(second.number[-4:]) == int(first.number[-4:]) + 1


@pytest.mark.parametrize("severity", Severity.values)
def test_targets_follow_the_severity(agent, severity):
    detected = timezone.now() - timedelta(minutes=5)
    incident = make_incident(by=agent, severity=severity, detected_at=detected)
    response, resolution = TARGETS[severity]
    assert incident.response_due_at == detected + response
    assert incident.resolution_due_at == detected + resolution
    assert incident.postmortem_required is (severity in ("critical", "high"))


def test_a_new_severity_moves_the_targets(agent):
    incident = make_incident(by=agent, severity=Severity.LOW)
    incident = services.update_incident(incident=incident, by=agent, severity=Severity.CRITICAL)
    assert incident.response_due_at == incident.detected_at + timedelta(minutes=15)
    event = incident.events.get(kind=IncidentEvent.Kind.UPDATED)
    assert (event.before, event.after) == ({"severity": "low"}, {"severity": "critical"})


def test_acknowledging_sets_the_time_and_the_commander_once(agent, lead):
    incident = make_incident(by=agent)
    with at("2026-12-02T10:07:00Z"):
        incident = services.acknowledge(incident=incident, by=agent, commander=lead)
    assert incident.acknowledged_at.isoformat() == "2026-12-02T10:07:00+00:00"
    assert incident.commander == lead
    assert incident.events.filter(kind=IncidentEvent.Kind.ACKNOWLEDGED, actor=agent).exists()
    with pytest.raises(Conflict):
        services.acknowledge(incident=incident, by=lead)


def test_the_acknowledger_commands_unless_another_is_named(agent):
    incident = services.acknowledge(incident=make_incident(by=agent), by=agent)
    assert incident.commander == agent


def test_a_commander_must_be_staff(agent, customer):
    with pytest.raises(DomainError):
        services.acknowledge(incident=make_incident(by=agent), by=agent, commander=customer)


def test_resolving_stamps_the_time_and_reopening_clears_it(agent):
    incident = incident_in(S.MONITORING, by=agent)
    incident = services.change_status(incident=incident, by=agent, to=S.RESOLVED)
    assert incident.resolved_at is not None
    incident = services.change_status(incident=incident, by=agent, to=S.INVESTIGATING)
    assert incident.resolved_at is None


@pytest.mark.parametrize("severity", [Severity.CRITICAL, Severity.HIGH])
def test_critical_and_high_incidents_close_only_with_a_complete_postmortem(agent, severity):
    incident = incident_in(S.RESOLVED, by=agent, severity=severity)
    with pytest.raises(Conflict) as refused:
        services.change_status(incident=incident, by=agent, to=S.CLOSED)
    assert refused.value.code == "postmortem_required"
    postmortem = PostMortem.objects.create(incident=incident, summary="A bad deploy.")
    with pytest.raises(Conflict):
        services.change_status(incident=incident, by=agent, to=S.CLOSED)
    postmortem.completed_at = timezone.now()
    postmortem.save()
    incident = Incident.objects.get(pk=incident.pk)
    assert services.change_status(incident=incident, by=agent, to=S.CLOSED).closed_at


@pytest.mark.parametrize("severity", [Severity.MEDIUM, Severity.LOW])
def test_medium_and_low_incidents_close_without_one(agent, severity):
    incident = incident_in(S.RESOLVED, by=agent, severity=severity)
    assert services.change_status(incident=incident, by=agent, to=S.CLOSED).status == S.CLOSED


def test_updates_are_internal_unless_public_and_need_text(agent):
    incident = make_incident(by=agent)
    note = services.post_update(incident=incident, by=agent, body="db-2 pool exhausted")
    public = services.post_update(incident=incident, by=agent, body="Rolling back", public=True)
    assert (note.is_public, public.is_public) == (False, True)
    with pytest.raises(DomainError):
        services.post_update(incident=incident, by=agent, body="   ")
    assert incident.events.filter(kind=IncidentEvent.Kind.UPDATE_POSTED).count() == 2


def test_a_closed_incident_takes_no_updates(agent):
    incident = incident_in(S.CLOSED, by=agent)
    with pytest.raises(Conflict):
        services.post_update(incident=incident, by=agent, body="Late")


def test_components_show_the_worst_state_of_their_active_incidents(agent):
    api, web = make_component("API"), make_component("Web", order=1)
    first = make_incident(by=agent, components={api: ComponentState.DEGRADED_PERFORMANCE})
    api.refresh_from_db()
    assert api.state == ComponentState.DEGRADED_PERFORMANCE
    second = make_incident(
        by=agent, components={api: ComponentState.MAJOR_OUTAGE, web: ComponentState.PARTIAL_OUTAGE}
    )
    api.refresh_from_db(), web.refresh_from_db()
    assert (api.state, web.state) == (ComponentState.MAJOR_OUTAGE, ComponentState.PARTIAL_OUTAGE)
    services.change_status(incident=second, by=agent, to=S.RESOLVED)
    api.refresh_from_db(), web.refresh_from_db()
    assert (api.state, web.state) == (ComponentState.DEGRADED_PERFORMANCE, "operational")
    services.set_components(incident=first, by=agent, states={})
    api.refresh_from_db()
    assert api.state == ComponentState.OPERATIONAL
    assert api.events.filter(kind="state_changed").count() == 4


def test_an_incident_cannot_put_a_component_under_maintenance(agent):
    api = make_component()
    with pytest.raises(DomainError):
        make_incident(by=agent, components={api: ComponentState.UNDER_MAINTENANCE})
