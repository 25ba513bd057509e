"""The target watch: breaches marked and told once, with the clock moved (never slept)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from core.models import OutboxMessage
from incidents import services
from incidents.models import IncidentEvent, Severity, Status
from incidents.monitor import check_targets
from tests.factories import UserFactory

from .factories import at, make_incident

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def people(db):
    commander = UserFactory(roles=["agent"], phone="+15550001")
    on_duty = UserFactory(roles=["support_lead"], phone="+15550002")
    return commander, on_duty


def declare(by, severity, commander=None):
    with at(T0):
        return make_incident(by=by, severity=severity, commander=commander)


def told(incident):
    return OutboxMessage.objects.filter(key__startswith=f"incident:{incident.pk}:")


def test_the_watch_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["incidents-target-watch"]
    assert entry == {"task": "incidents.tasks.check_incident_targets", "schedule": 60.0}


def test_a_critical_incident_breaches_its_response_target_after_15_minutes(people):
    commander, on_duty = people
    incident = declare(commander, Severity.CRITICAL, commander=commander)
    assert check_targets(now=T0 + timedelta(minutes=14, seconds=59)).response == 0
    assert check_targets(now=T0 + timedelta(minutes=15)).response == 1
    incident.refresh_from_db()
    assert incident.response_breached_at == T0 + timedelta(minutes=15)
    assert incident.breached
    channels = sorted(told(incident).values_list("recipient_user_id", "channel"))
    assert channels == sorted(
        (user.pk, channel) for user in people for channel in ("email", "in_app", "sms")
    )
    assert incident.events.filter(kind=IncidentEvent.Kind.RESPONSE_BREACHED).count() == 1


def test_the_watch_is_idempotent(people):
    commander, _ = people
    incident = declare(commander, Severity.CRITICAL, commander=commander)
    later = T0 + timedelta(minutes=20)
    check_targets(now=later)
    rows = told(incident).count()
    assert check_targets(now=later).response == 0
    assert check_targets(now=later + timedelta(hours=1)).response == 0
    assert told(incident).count() == rows
    assert incident.events.filter(kind=IncidentEvent.Kind.RESPONSE_BREACHED).count() == 1


def test_an_acknowledged_incident_does_not_breach_its_response(people):
    commander, _ = people
    incident = declare(commander, Severity.HIGH)
    with at(T0 + timedelta(minutes=59)):
        services.acknowledge(incident=incident, by=commander)
    assert check_targets(now=T0 + timedelta(hours=2)).response == 0
    assert not told(incident).exists()


def test_the_resolution_target_and_no_sms_below_critical(people):
    commander, on_duty = people
    incident = declare(commander, Severity.HIGH, commander=commander)
    with at(T0 + timedelta(minutes=30)):
        services.acknowledge(incident=incident, by=commander)
    watch = check_targets(now=T0 + timedelta(hours=8))
    assert (watch.response, watch.resolution) == (0, 1)
    incident.refresh_from_db()
    assert incident.resolution_breached_at == T0 + timedelta(hours=8)
    assert not told(incident).filter(channel="sms").exists()
    assert set(told(incident).values_list("recipient_user_id", flat=True)) == {
        commander.pk,
        on_duty.pk,
    }


def test_a_resolved_incident_does_not_breach(people):
    commander, _ = people
    incident = declare(commander, Severity.LOW)
    with at(T0 + timedelta(hours=1)):
        services.acknowledge(incident=incident, by=commander)
        services.change_status(incident=incident, by=commander, to=Status.RESOLVED)
    assert check_targets(now=T0 + timedelta(days=10)).resolution == 0


@pytest.mark.parametrize(
    ("severity", "response", "resolution"),
    [
        (Severity.CRITICAL, timedelta(minutes=15), timedelta(hours=4)),
        (Severity.HIGH, timedelta(hours=1), timedelta(hours=8)),
        (Severity.MEDIUM, timedelta(hours=4), timedelta(hours=24)),
        (Severity.LOW, timedelta(hours=24), timedelta(hours=72)),
    ],
)
def test_each_severity_breaches_exactly_at_its_targets(people, severity, response, resolution):
    commander, _ = people
    declare(commander, severity)
    second = timedelta(seconds=1)
    assert check_targets(now=T0 + response - second).response == 0
    assert check_targets(now=T0 + response).response == 1
    assert check_targets(now=T0 + resolution - second).resolution == 0
    assert check_targets(now=T0 + resolution).resolution == 1
