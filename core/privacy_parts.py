"""What `core` holds about a person: the account, tokens, notifications, the outbox and delivery
log, e-mail suppressions and opt-outs, webhook delivery logs (`core.privacy`)."""

from django.db import models
from django.db.models import Q

from . import privacy
from .models import (
    ApiToken,
    DeliveryEvent,
    EmailOptOut,
    EmailSuppression,
    Notification,
    OutboxMessage,
    User,
    WebhookDelivery,
)

CHUNK = 500


def unguarded(model) -> models.QuerySet:
    """A plain queryset of an append-only model: erasure's one way to anonymise such rows in
    place (delivery events, audit events). Nothing else may use it."""
    return models.QuerySet(model=model)


def _outbox_rows(subject: privacy.Subject):
    q = Q(recipient=subject.email)
    if subject.user_id:
        q |= Q(recipient_user_id=subject.user_id)
    if subject.phone:
        q |= Q(recipient=subject.phone)
    return OutboxMessage.objects.filter(q)


def export(subject: privacy.Subject, archive: privacy.Archive) -> None:
    if subject.user_id:
        user = User.objects.select_related("organization").get(pk=subject.user_id)
        archive.add(
            "profile",
            [
                {
                    "email": user.email,
                    "full_name": user.full_name,
                    "phone": user.phone,
                    "organization": user.organization.name if user.organization else None,
                    "time_zone": user.time_zone,
                    "language": user.language,
                    "sms_notifications": user.sms_notifications,
                    "is_active": user.is_active,
                    "date_joined": privacy.iso(user.date_joined),
                    "last_login": privacy.iso(user.last_login),
                    "roles": sorted(user.groups.values_list("name", flat=True)),
                }
            ],
        )
        archive.add(
            "api_tokens",
            [
                {
                    "name": t.name,
                    "prefix": t.prefix,
                    "created_at": privacy.iso(t.created_at),
                    "last_used_at": privacy.iso(t.last_used_at),
                    "expires_at": privacy.iso(t.expires_at),
                    "revoked_at": privacy.iso(t.revoked_at),
                }
                for t in ApiToken.objects.filter(user_id=subject.user_id).order_by("pk")
            ],
        )
        archive.add(
            "notifications",
            [
                {
                    "title": n.title,
                    "body": n.body,
                    "url": n.url,
                    "created_at": privacy.iso(n.created_at),
                    "read_at": privacy.iso(n.read_at),
                }
                for n in Notification.objects.filter(recipient_id=subject.user_id).order_by("pk")
            ],
        )
    archive.add(
        "notification_log",
        [
            {
                "channel": m.channel,
                "to": m.recipient,
                "subject": m.subject,
                "body": m.body,
                "status": m.status,
                "delivery_state": m.delivery_state,
                "created_at": privacy.iso(m.created_at),
                "sent_at": privacy.iso(m.sent_at),
            }
            for m in _outbox_rows(subject).order_by("pk").iterator(chunk_size=CHUNK)
        ],
    )
    archive.add(
        "email_preferences",
        [
            {"category": o.category, "since": privacy.iso(o.created_at), "source": o.source}
            for o in EmailOptOut.objects.filter(address=subject.email).order_by("pk")
        ]
        + [
            {"suppressed": s.reason, "since": privacy.iso(s.since), "lifted_at": s.lifted_at}
            for s in EmailSuppression.objects.filter(address=subject.email).order_by("pk")
        ],
    )


def erase(subject: privacy.Subject, holds: privacy.Holds) -> dict[str, int]:
    done = {}
    placeholder = subject.erased_email
    rows = _outbox_rows(subject)
    done["outbox_messages"] = rows.update(
        recipient=placeholder, subject=privacy.ERASED, body="", html_body="", headers={}
    )
    done["delivery_events"] = (
        unguarded(DeliveryEvent)
        .filter(recipient=subject.email)
        .update(recipient=placeholder, description="", mta_response="", raw={})
    )
    done["email_opt_outs"] = EmailOptOut.objects.filter(address=subject.email).delete()[0]
    done["email_suppressions"] = EmailSuppression.objects.filter(address=subject.email).delete()[0]
    # Webhook payloads sent about their tickets carry the address and name as sent: scrubbed.
    needles = Q()
    for value in subject.identifiers():
        needles |= Q(body__icontains=value)
    deliveries = WebhookDelivery.objects.filter(needles)
    done["webhook_deliveries"] = len(privacy.scrub_rows(deliveries, ("body", "log"), subject))
    if subject.user_id:
        done["notifications"] = Notification.objects.filter(recipient_id=subject.user_id).update(
            title=privacy.ERASED, body="", url=""
        )
        done["api_tokens"] = ApiToken.objects.filter(user_id=subject.user_id).delete()[0]
        user = User.objects.get(pk=subject.user_id)
        # The row stays (tickets, events and rollups point at it), identifying no one.
        user.email = placeholder
        user.full_name = ""
        user.phone = ""
        user.sms_notifications = False
        user.is_active = False
        user.is_organization_admin = False
        user.set_unusable_password()
        user._password = None  # no "password in use" signal for an erased account
        user.save()
        done["account"] = 1
    return done


def register() -> None:
    register_retention()
    privacy.register(
        privacy.Part(
            name="core",
            models=(
                "core.User",
                "core.ApiToken",
                "core.Notification",
                "core.OutboxMessage",
                "core.DeliveryEvent",
                "core.EmailOptOut",
                "core.EmailSuppression",
                "core.WebhookDelivery",
            ),
            export=export,
            erase=erase,
            order=1000,  # last: the others still find the person by address and id
        )
    )
    privacy.exempt(
        ["core.Organization", "core.BusinessCalendar", "core.WorkingInterval", "core.Holiday"],
        "organisations and calendars: no person's data",
    )
    privacy.exempt("core.NumberCounter", "counters")
    privacy.exempt("core.WebhookSubscription", "an endpoint and its creator's id")
    privacy.exempt(
        "core.IdempotencyRecord", "replayable responses, purged after 24 hours by housekeeping"
    )


def scrub_events(queryset, subject: privacy.Subject, text_fields: tuple[str, ...] = ()) -> int:
    """Replace the person's identifiers inside audit events (`before`, `after`, `metadata` and
    the model's own `text_fields`) in place; the events, their kinds, actors and times stay."""
    fields = ("before", "after", "metadata", *text_fields)
    changed = privacy.scrub_rows(queryset, fields, subject, chunk_size=CHUNK)
    if changed:
        privacy.audit_scrubbed(queryset.model, changed)
    return len(changed)


def _outbox_due(cutoff, holds, action):
    return OutboxMessage.objects.filter(created_at__lt=cutoff, status__in=["sent", "failed"])


def _apply_outbox(action, pks):
    Notification.objects.filter(outbox_message_id__in=pks).update(outbox_message=None)
    unguarded(DeliveryEvent).filter(outbox_message_id__in=pks).delete()
    return OutboxMessage.objects.filter(pk__in=pks).delete()[0]


def _delivery_events_due(cutoff, holds, action):
    return unguarded(DeliveryEvent).filter(received_at__lt=cutoff)


def _apply_delivery_events(action, pks):
    return unguarded(DeliveryEvent).filter(pk__in=pks).delete()[0]


def _webhook_deliveries_due(cutoff, holds, action):
    return WebhookDelivery.objects.filter(created_at__lt=cutoff).exclude(status="pending")


def _apply_webhook_deliveries(action, pks):
    return WebhookDelivery.objects.filter(pk__in=pks).delete()[0]


def register_retention() -> None:
    for key, label, days, due, apply in (
        ("core.notification_log", "Notification log (sent and failed messages)", 365,
         _outbox_due, _apply_outbox),
        ("core.delivery_events", "E-mail delivery events", 180, _delivery_events_due,
         _apply_delivery_events),
        ("core.webhook_deliveries", "Webhook delivery logs", 90, _webhook_deliveries_due,
         _apply_webhook_deliveries),
    ):  # fmt: skip
        privacy.register_retention(
            privacy.RetentionKind(
                key=key,
                label=label,
                actions=("delete",),
                default_days=days,
                default_action="delete",
                due=due,
                apply=apply,
            )
        )
