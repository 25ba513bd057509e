"""Sending notifications: what other apps call.

Every `notify_*` function writes one `OutboxMessage` in the caller's transaction and publishes the
delivery task when that transaction commits. So:

* a rolled-back change notifies nobody;
* the same `key` (one key per effect, e.g. `ticket:42:created:customer-email`) yields one row and
  one delivery, however often it is written;
* a broker outage delays the notification (the sweeper re-dispatches it) but does not lose it.

Call them inside the transaction of the change that causes the notification.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.jobs import enqueue_on_commit
from core.models import Notification, OutboxMessage
from core.models.notifications import Channel, OutboxStatus
from core.observability import current_request_id

from .providers import make_message_id

logger = logging.getLogger(__name__)

_SUBJECT_MAX = OutboxMessage._meta.get_field("subject").max_length


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _enqueue(
    *,
    key: str,
    channel: str,
    recipient: str,
    recipient_user=None,
    subject: str = "",
    body: str = "",
    html_body: str = "",
    headers: dict | None = None,
) -> OutboxMessage:
    """Writes the outbox row for `key` (or finds the existing one) and dispatches it on commit.

    A repeated key returns the row already written, unchanged; it is dispatched again only while
    it is still pending (harmless: delivery claims the row), never once sent, sending or failed.
    """
    if not key:
        raise ValueError("An outbox key is required")
    subject = _one_line(subject)
    if len(subject) > _SUBJECT_MAX:
        subject = subject[: _SUBJECT_MAX - 1] + "…"
    request_id = current_request_id()
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                key=key,
                channel=channel,
                recipient=recipient,
                recipient_user=recipient_user,
                subject=subject,
                body=body,
                html_body=html_body,
                headers=headers or {},
                request_id="" if request_id == "-" else request_id,
            )
    except IntegrityError:
        message = OutboxMessage.objects.filter(key=key).first()
        if message is None:  # Not the key that clashed.
            raise
        if message.status != OutboxStatus.PENDING:
            return message
    from core.tasks import deliver_outbox_message

    enqueue_on_commit(deliver_outbox_message, message.pk)
    return message


def notify_email(
    *,
    key: str,
    to: str,
    subject: str,
    body: str,
    html_body: str = "",
    user=None,
    headers: dict | None = None,
    reply_to: str | None = None,
) -> OutboxMessage:
    """Sends one e-mail to `to` (once per key), with an HTML alternative when `html_body` is given.

    `headers` are kept as given (Message-ID, In-Reply-To, References for threading). A Message-ID
    is generated when absent and stored, so every retry carries the same one.
    """
    headers = {str(name): str(value) for name, value in (headers or {}).items()}
    if not any(name.lower() == "message-id" for name in headers):
        headers["Message-ID"] = make_message_id()
    if reply_to:
        headers["Reply-To"] = reply_to
    return _enqueue(
        key=key,
        channel=Channel.EMAIL,
        recipient=to,
        recipient_user=user,
        subject=subject,
        body=body,
        html_body=html_body,
        headers=headers,
    )


def notify_sms(*, key: str, to: str, body: str, user=None) -> OutboxMessage:
    """Sends one SMS to the number `to` (once per key) through `settings.SMS_PROVIDER`."""
    return _enqueue(key=key, channel=Channel.SMS, recipient=to, recipient_user=user, body=body)


def _notify_webhook(channel: str, key: str, text: str, webhook_url: str) -> OutboxMessage | None:
    if not webhook_url:
        logger.debug("No %s webhook configured; not sending %s", channel, key)
        return None
    return _enqueue(key=key, channel=channel, recipient=webhook_url, body=text)


def notify_slack(*, key: str, text: str, webhook_url: str | None = None) -> OutboxMessage | None:
    """Posts `text` to a Slack incoming webhook (default `SLACK_WEBHOOK_URL`) once per key.

    Without a webhook configured it writes nothing and returns None.
    """
    return _notify_webhook(Channel.SLACK, key, text, webhook_url or settings.SLACK_WEBHOOK_URL)


def notify_teams(*, key: str, text: str, webhook_url: str | None = None) -> OutboxMessage | None:
    """Posts `text` to a Microsoft Teams webhook (default `TEAMS_WEBHOOK_URL`) once per key.

    Without a webhook configured it writes nothing and returns None.
    """
    return _notify_webhook(Channel.TEAMS, key, text, webhook_url or settings.TEAMS_WEBHOOK_URL)


def notify_in_app(*, key: str, user, title: str, body: str = "", url: str = "") -> OutboxMessage:
    """Adds one entry to `user`'s bell menu (once per key) when the transaction commits."""
    return _enqueue(
        key=key,
        channel=Channel.IN_APP,
        recipient=f"user:{user.pk}",
        recipient_user=user,
        subject=title,
        body=body,
        headers={"url": url} if url else {},
    )


def mark_notifications_read(*, user, ids: Iterable[int] | None = None) -> int:
    """Marks `user`'s unread in-app notifications read (all of them, or those in `ids`).

    Only the user's own unread rows change; ids of other users' or already-read notifications are
    ignored. Returns how many rows changed.
    """
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
