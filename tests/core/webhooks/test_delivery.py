"""Deliveries: signed, retried after 5xx and timeouts, logged, disabled after repeated failure."""

import json

import pytest
from django.db import transaction
from django.utils import timezone

from core.models import OutboxMessage, WebhookDelivery, WebhookSubscription
from core.notifications import dispatch
from core.webhooks import registry, services
from core.webhooks.delivery import verify
from support.services import create_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscription(receiver, admin_user):
    return services.create_subscription(
        by=admin_user,
        data={
            "name": "CRM",
            "url": receiver.url,
            "events": ["ticket.created", "ticket.status_changed"],
        },
    )


def outbox_row(delivery):
    return OutboxMessage.objects.get(key=f"webhook:{delivery.delivery_id}")


def deliver_again(row):
    """Make the row due now (its backoff passed) and deliver it."""
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    return dispatch.deliver(row.pk)


def test_a_ticket_event_is_delivered_signed_and_the_receiver_verifies_it(
    receiver, subscription, customer
):
    ticket = create_ticket(by=customer, subject="Hello")
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery.event == "ticket.created"

    assert dispatch.deliver(outbox_row(delivery).pk).outcome == dispatch.SENT

    [got] = receiver.requests
    assert got.path == "/hooks/in"
    assert got.headers["X-Webhook-Event"] == "ticket.created"
    assert got.headers["X-Webhook-Delivery"] == delivery.delivery_id
    assert verify(
        subscription.secret,
        got.headers["X-Webhook-Timestamp"],
        got.body,
        got.headers["X-Webhook-Signature"],
    )
    assert not verify(
        "another-secret",
        got.headers["X-Webhook-Timestamp"],
        got.body,
        got.headers["X-Webhook-Signature"],
    )
    assert not verify(
        subscription.secret, "1000000000", got.body, got.headers["X-Webhook-Signature"]
    )  # too old
    payload = json.loads(got.body)
    assert payload["data"]["ticket"]["number"] == ticket.number
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code, delivery.attempts) == ("succeeded", 200, 1)
    assert delivery.log[0]["status_code"] == 200


def test_a_500_is_retried_with_backoff_then_succeeds(receiver, subscription, customer):
    receiver.answer((500, 0, None), (200, 0, None))
    create_ticket(by=customer, subject="Hello")
    delivery = WebhookDelivery.objects.get()
    row = outbox_row(delivery)

    first = dispatch.deliver(row.pk)

    assert first.outcome == dispatch.RETRY_SCHEDULED and first.countdown >= 30
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code) == ("pending", 500)
    assert dispatch.deliver(row.pk).outcome == dispatch.NOT_DUE  # the backoff holds it back
    assert deliver_again(row).outcome == dispatch.SENT
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert [entry["status_code"] for entry in delivery.log] == [500, 200]
    assert (
        len({r.headers["X-Webhook-Delivery"] for r in receiver.requests}) == 1
    )  # same delivery id
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0


def test_a_timeout_is_retried(receiver, subscription, customer, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.answer((200, 1.0, None), (200, 0, None))
    create_ticket(by=customer, subject="Hello")
    delivery = WebhookDelivery.objects.get()
    row = outbox_row(delivery)

    assert dispatch.deliver(row.pk).outcome == dispatch.RETRY_SCHEDULED
    delivery.refresh_from_db()
    assert delivery.last_error == "Timed out" and delivery.response_code is None
    assert deliver_again(row).outcome == dispatch.SENT


def test_a_4xx_fails_at_once(receiver, subscription, customer):
    receiver.answer((410, 0, None))
    create_ticket(by=customer, subject="Hello")
    delivery = WebhookDelivery.objects.get()
    assert dispatch.deliver(outbox_row(delivery).pk).outcome == dispatch.FAILED
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code) == ("failed", 410)


def test_repeated_failure_disables_the_subscription_and_tells_the_admins(
    receiver, subscription, customer, admin_user, settings
):
    settings.WEBHOOK_MAX_CONSECUTIVE_FAILURES = 3
    receiver.answer((503, 0, None))
    for n in range(3):
        create_ticket(by=customer, subject=f"Hello {n}")
    rows = [outbox_row(d) for d in WebhookDelivery.objects.order_by("pk")]
    for row in rows:
        dispatch.deliver(row.pk)

    subscription.refresh_from_db()
    assert not subscription.active
    assert "3 failed attempts" in subscription.disabled_reason
    assert OutboxMessage.objects.filter(
        channel="in_app", recipient_user=admin_user, key__contains="disabled"
    ).exists()
    # Pending retries of a disabled subscription fail without calling it.
    calls = len(receiver.requests)
    assert deliver_again(rows[0]).outcome == dispatch.FAILED
    assert len(receiver.requests) == calls
    # And new events are not queued for it.
    create_ticket(by=customer, subject="After")
    assert WebhookDelivery.objects.count() == 3


def test_a_redirect_to_a_private_or_metadata_address_is_refused(receiver, subscription, customer):
    receiver.answer((307, 0, "http://169.254.169.254/latest/meta-data/"))
    create_ticket(by=customer, subject="Hello")
    delivery = WebhookDelivery.objects.get()

    assert dispatch.deliver(outbox_row(delivery).pk).outcome == dispatch.FAILED

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert "link-local or metadata" in delivery.last_error


def test_a_redirect_to_loopback_is_refused_when_loopback_is_not_allowed(
    receiver, subscription, customer, settings
):
    create_ticket(by=customer, subject="Hello")
    delivery = WebhookDelivery.objects.get()
    settings.WEBHOOK_ALLOW_LOOPBACK = False  # production: the receiver itself is internal

    assert dispatch.deliver(outbox_row(delivery).pk).outcome == dispatch.FAILED

    assert receiver.requests == []
    delivery.refresh_from_db()
    assert "loopback" in delivery.last_error


def test_send_test_delivers_a_test_event(receiver, subscription, admin_user):
    delivery = services.send_test(subscription=subscription, by=admin_user)
    assert dispatch.deliver(outbox_row(delivery).pk).outcome == dispatch.SENT
    assert json.loads(receiver.requests[0].body)["event"] == "webhook.test"


def test_a_rolled_back_change_queues_no_delivery(subscription, customer):
    with pytest.raises(RuntimeError), transaction.atomic():
        create_ticket(by=customer, subject="Hello")
        raise RuntimeError
    assert not WebhookDelivery.objects.exists()
    assert not OutboxMessage.objects.filter(channel="webhook").exists()


def test_only_listening_subscriptions_get_an_event(receiver, subscription, admin_user):
    WebhookSubscription.objects.create(name="Other", url=receiver.url, events=["ticket.rated"])
    assert registry.emit("ticket.status_changed", {"x": 1}) == 1
