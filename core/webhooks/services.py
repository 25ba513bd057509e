"""Managing subscriptions, and queueing deliveries to one of them."""

from django.db import transaction

from core.errors import Conflict, DomainError
from core.models.webhooks import WebhookDelivery, WebhookSubscription, new_secret

from . import registry
from .permissions import can_manage_webhooks
from .security import UnsafeURL, check

EDITABLE = ("name", "url", "events", "active")


def _clean(data: dict, *, partial: bool) -> dict:
    cleaned = {}
    if "name" in data or not partial:
        name = str(data.get("name", "")).strip()
        if not name or len(name) > 200:
            raise DomainError(
                "A subscription needs a name.",
                code="invalid_webhook",
                errors={"name": ["Required."]},
            )
        cleaned["name"] = name
    if "url" in data or not partial:
        url = str(data.get("url", "")).strip()
        if len(url) > 500:
            raise DomainError(
                "At most 500 characters.", code="invalid_webhook", errors={"url": ["Too long."]}
            )
        try:
            check(url)
        except UnsafeURL as exc:
            raise DomainError(str(exc), code="unsafe_url", errors={"url": [str(exc)]}) from None
        cleaned["url"] = url
    if "events" in data or not partial:
        events = data.get("events")
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) and registry.is_registered(e) for e in events)
        ):
            names = ", ".join(e.name for e in registry.events())
            raise DomainError(
                f"events: one or more of {names}.",
                code="invalid_webhook",
                errors={"events": ["Invalid."]},
            )
        cleaned["events"] = sorted(set(events))
    if "active" in data:
        cleaned["active"] = bool(data["active"])
    return cleaned


def validate(data: dict, *, partial: bool = False) -> dict:
    """The subscription fields `data` describes, checked (the URL resolved) as a save would;
    DomainError naming the bad fields otherwise. For forms that show errors before saving."""
    return _clean(data, partial=partial)


@transaction.atomic
def create_subscription(*, by, data: dict) -> WebhookSubscription:
    """A subscription with a new random secret; the URL is checked (and resolved) now."""
    can_manage_webhooks.require(by)
    return WebhookSubscription.objects.create(created_by=by, **_clean(data, partial=False))


@transaction.atomic
def update_subscription(*, subscription, by, data: dict) -> WebhookSubscription:
    """Change name, URL, events or active; re-activating forgets the failure count."""
    can_manage_webhooks.require(by)
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    cleaned = _clean(data, partial=True)
    if cleaned.get("active") and not subscription.active:
        subscription.consecutive_failures = 0
        subscription.disabled_reason = ""
    for name, value in cleaned.items():
        setattr(subscription, name, value)
    if data.get("rotate_secret"):
        subscription.secret = new_secret()
    subscription.save()
    return subscription


@transaction.atomic
def delete_subscription(*, subscription, by) -> None:
    can_manage_webhooks.require(by)
    subscription.delete()


def deliver_to(
    subscription: WebhookSubscription, *, event: str, data: dict, key: str = ""
) -> WebhookDelivery:
    """Queue `event` to this one subscription (a rule's "call a webhook" action)."""
    if not registry.is_registered(event):
        raise ValueError(f"{event!r} is not a registered webhook event")
    return registry.queue(subscription, event, data)


@transaction.atomic
def send_test(*, subscription, by) -> WebhookDelivery:
    """Queue a `webhook.test` delivery to this subscription now (409 while it is disabled:
    re-enable it first). It goes through the outbox like any delivery and shows in the log."""
    can_manage_webhooks.require(by)
    if not subscription.active:
        raise Conflict("Enable the subscription before sending a test.", code="webhook_inactive")
    return registry.queue(
        subscription,
        registry.TEST_EVENT,
        {"message": "A test delivery.", "subscription": subscription.pk},
    )
