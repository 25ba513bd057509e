"""Incident events reach webhook subscriptions: declared, acknowledged, moved, resolved, public
updates and maintenance windows; internal updates and unsubscribed events send nothing."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import WebhookDelivery
from core.webhooks import registry
from core.webhooks import services as webhook_services
from incidents import services
from incidents.models import Status

from .factories import make_component, make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscription(admin_user, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    return webhook_services.create_subscription(
        by=admin_user,
        data={
            "name": "Pager",
            "url": "http://127.0.0.1:9/hooks",
            "events": [
                "incident.created",
                "incident.acknowledged",
                "incident.status_changed",
                "incident.resolved",
                "incident.update_posted",
                "maintenance.scheduled",
                "maintenance.cancelled",
            ],
        },
    )


def sent(subscription) -> list[tuple[str, dict]]:
    return [
        (d.event, json.loads(d.body)["data"])
        for d in WebhookDelivery.objects.filter(subscription=subscription).order_by("pk")
    ]


def test_every_incident_event_is_registered():
    names = {e.name for e in registry.events()}
    assert {"incident.created", "incident.resolved", "maintenance.scheduled"} <= names


def test_an_incident_life_reaches_the_subscription(subscription, lead):
    api = make_component(name="API")
    incident = make_incident(by=lead, title="Checkout fails")
    services.set_components(incident=incident, by=lead, states={api: "major_outage"})
    services.acknowledge(incident=incident, by=lead)
    services.post_update(incident=incident, by=lead, body="Rolled back the deploy", public=True)
    services.post_update(incident=incident, by=lead, body="Bob broke it", public=False)
    services.change_status(incident=incident, by=lead, to=Status.RESOLVED, message="Fixed")

    events = sent(subscription)
    assert [name for name, _ in events] == [
        "incident.created",
        "incident.acknowledged",
        "incident.update_posted",
        "incident.status_changed",
        "incident.resolved",
    ]
    created, acknowledged, update, moved, resolved = (data for _, data in events)
    assert created["incident"]["number"] == incident.number
    assert created["incident"]["status"] == Status.DETECTED
    assert acknowledged["incident"]["acknowledged_at"] is not None
    assert update["update"]["body"] == "Rolled back the deploy"
    assert moved["before"] == {"status": Status.DETECTED}
    assert moved["after"] == {"status": Status.RESOLVED} and moved["message"] == "Fixed"
    assert resolved["incident"]["components"] == ["API"]
    assert resolved["incident"]["resolved_at"] is not None
    assert "Bob broke it" not in json.dumps(events)


def test_an_internal_status_message_is_not_sent(subscription, lead):
    incident = make_incident(by=lead)
    services.change_status(
        incident=incident, by=lead, to=Status.INVESTIGATING, message="Bob again", public=False
    )
    [(name, data)] = [e for e in sent(subscription) if e[0] == "incident.status_changed"]
    assert "message" not in data and "Bob again" not in json.dumps(data)


def test_maintenance_windows_reach_the_subscription(subscription, lead):
    db = make_component(name="Database")
    start = timezone.now() + timedelta(days=1)
    window = services.schedule_maintenance(
        by=lead, title="DB upgrade", starts_at=start, ends_at=start + timedelta(hours=2),
        components=[db],
    )  # fmt: skip
    services.cancel_maintenance(maintenance=window, by=lead)
    events = sent(subscription)
    assert [name for name, _ in events] == ["maintenance.scheduled", "maintenance.cancelled"]
    assert events[0][1]["maintenance"]["components"] == ["Database"]
    assert events[1][1]["maintenance"]["cancelled_at"] is not None


def test_nothing_is_written_for_events_nobody_listens_to(admin_user, lead, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    webhook_services.create_subscription(
        by=admin_user,
        data={"name": "CRM", "url": "http://127.0.0.1:9/h", "events": ["ticket.created"]},
    )
    make_incident(by=lead)
    assert not WebhookDelivery.objects.exists()
