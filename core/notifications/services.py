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
import re
from collections.abc import Iterable
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone

from core import batch
from core.batch import Sink
from core.internals import bulk_insert
from core.internals.insert import insert_ignoring_conflicts
from core.jobs import enqueue_batched_on_commit, enqueue_batched_on_commit_many
from core.models import Notification, OutboxMessage
from core.models.notifications import Channel, OutboxStatus
from core.observability import current_request_id

from . import consent
from .providers import make_message_id

logger = logging.getLogger(__name__)

_SUBJECT_MAX = OutboxMessage._meta.get_field("subject").max_length


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


_UNSAVED_ID = re.compile(r"(^|:)None(:|$)")
INSERT_CHUNK = 500  # rows per INSERT: well inside both databases' limits on parameters

# The columns written, and each column's value in a new row unless given (what
# `Model.__init__` would put there: a constant, or a callable default called per row).
_FIELDS = [f for f in OutboxMessage._meta.concrete_fields if not f.primary_key]
_DEFAULTED = [f for f in _FIELDS if f.has_default()]
_CALLABLE_DEFAULTS = [(f.attname, f.default) for f in _DEFAULTED if callable(f.default)]
_CONSTANT_DEFAULTS = {
    f.attname: f.get_default()
    for f in OutboxMessage._meta.concrete_fields
    if not (f.has_default() and callable(f.default))
}
_RECIPIENT_USER = OutboxMessage._meta.get_field("recipient_user")
_KEY = OutboxMessage._meta.get_field("key")
_HEADERS = OutboxMessage._meta.get_field("headers")


def _new_message(recipient_user, **values) -> OutboxMessage:
    """`OutboxMessage(recipient_user=..., **values)` without `Model.__init__`'s per-field loop
    (a third of the monitor's cost of a row): the same attributes, defaults and cached user.

    Falls back to the constructor when someone listens to the model's init signals.
    """
    if signals.pre_init.has_listeners(OutboxMessage) or signals.post_init.has_listeners(
        OutboxMessage
    ):
        return OutboxMessage(recipient_user=recipient_user, **values)
    if recipient_user is not None and not isinstance(recipient_user, _RECIPIENT_USER.related_model):
        raise ValueError(f"recipient_user must be a user, not {recipient_user!r}")
    message = OutboxMessage.__new__(OutboxMessage)
    message._state = ModelState()
    attributes = message.__dict__
    attributes.update(_CONSTANT_DEFAULTS)
    for attname, default in _CALLABLE_DEFAULTS:
        attributes[attname] = default()
    attributes.update(values)
    attributes[_RECIPIENT_USER.attname] = None if recipient_user is None else recipient_user.pk
    _RECIPIENT_USER.set_cached_value(message, recipient_user)
    return message


def _insert_rows(rows: list[tuple]) -> list[tuple[int, str]]:
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING id, key` of `rows` (tuples of the `_ROW`
    columns and `next_attempt_at`): (id, key) of each row inserted. On PostgreSQL
    `core.internals.bulk_insert.insert_columns` (no per-row Python but the driver's), elsewhere
    the ORM's own insert of the same rows."""
    if bulk_insert.can_insert_rows(OutboxMessage):
        columns = [list(column) for column in zip(*rows, strict=True)]
        values = {name: bulk_insert.Same(value) for name, value in _ROW_DEFAULTS.items()}
        values.update(zip((*_ROW, "next_attempt_at"), columns, strict=True))
        headers = columns[_ROW.index("headers")]
        texts = bulk_insert.json_texts(_HEADERS, headers)
        values["headers"] = bulk_insert.Json(texts) if texts is not None else headers
        return bulk_insert.insert_columns(
            OutboxMessage, values, ignore_conflicts=True, returning=("pk", "key")
        )
    names = (*_ROW, "next_attempt_at")
    messages = [
        OutboxMessage(**_ROW_DEFAULTS, **dict(zip(names, row, strict=True))) for row in rows
    ]
    return insert_ignoring_conflicts(
        OutboxMessage, messages, fields=_FIELDS, returning=[OutboxMessage._meta.pk, _KEY]
    )


class Outgoing(NamedTuple):
    """One notification for `enqueue_many`: what `notify_in_app` / `notify_email` would write
    (see `in_app` and `email`, which build it as those functions do)."""

    key: str
    channel: str
    recipient: str
    user: object = None  # the recipient user, or None
    subject: str = ""
    body: str = ""
    headers: dict | None = None
    html_body: str = ""


def in_app(*, key: str, user, title: str, body: str = "", url: str = "") -> Outgoing:
    """What `notify_in_app` writes, for `enqueue_many`."""
    return Outgoing(
        key, Channel.IN_APP, f"user:{user.pk}", user, title, body, {"url": url} if url else {}
    )


def email(*, key: str, to: str, subject: str, body: str, user=None) -> Outgoing:
    """What `notify_email` writes with no headers of its own (a new Message-ID), for
    `enqueue_many`."""
    return Outgoing(key, Channel.EMAIL, to, user, subject, body, {"Message-ID": make_message_id()})


def enqueue_many(messages: Iterable[Outgoing]) -> None:
    """`_enqueue` of each of `messages`; inside `core.batch.batched()` each becomes one tuple
    of column values (no model instance, the request id and the time read once for all), the
    rows a sweep writes by the thousand. Nothing is returned: use `notify_*` for the row."""
    messages = list(messages)
    if not batch.active():
        for m in messages:
            _enqueue(
                key=m.key,
                channel=m.channel,
                recipient=m.recipient,
                recipient_user=m.user,
                subject=m.subject,
                body=m.body,
                html_body=m.html_body,
                headers=m.headers,
            )
        return
    request_id = current_request_id()
    request_id = "" if request_id == "-" else request_id
    now = timezone.now()
    subjects: dict[str, str] = {}
    rows = []
    user_model = _RECIPIENT_USER.related_model
    for m in messages:
        _check_key(m.key)
        subject = subjects.get(m.subject)
        if subject is None:
            subject = subjects[m.subject] = _subject(m.subject)
        user = m.user
        if user is None:
            user_id = None
        elif isinstance(user, user_model):
            user_id = user.pk
            if user_id is None:  # as `bulk_create` refuses an unsaved related object
                raise ValueError(
                    "bulk_create() prohibited to prevent data loss due to unsaved related "
                    f"object '{_RECIPIENT_USER.name}'."
                )
        else:
            raise ValueError(f"recipient_user must be a user, not {user!r}")
        rows.append(
            (
                m.key,
                m.channel,
                m.recipient,
                user_id,
                subject,
                m.body,
                m.html_body,
                m.headers or {},
                request_id,
                now,
            )
        )
    _OUTBOX.add_many(rows)


# The columns of a row of `enqueue_many` (a tuple in this order); every other column has its
# default (a new row: pending, no attempts, due at once: `next_attempt_at` is `created_at`).
_ROW = (
    "key",
    "channel",
    "recipient",
    "recipient_user_id",
    "subject",
    "body",
    "html_body",
    "headers",
    "request_id",
    "created_at",
)
_ROW_DEFAULTS = {
    f.attname: f.get_default() for f in _FIELDS if f.attname not in (*_ROW, "next_attempt_at")
}


def _as_row(message: OutboxMessage) -> tuple:
    return tuple(getattr(message, name) for name in _ROW)


def _insert_many(rows: list) -> None:
    """Write a batch's rows (`OutboxMessage` instances of `_enqueue`, tuples of `enqueue_many`):
    one INSERT ... ON CONFLICT DO NOTHING per chunk, the first row of a key kept; the instances
    get their ids; every row written (or still pending from before) is dispatched on commit."""
    if not rows:
        return
    from core.tasks import deliver_outbox_messages

    by_key: dict[str, tuple] = {}
    instances = []
    for row in rows:
        if isinstance(row, OutboxMessage):
            instances.append(row)
            if row.key not in by_key:
                _prepare([row])
                if any(getattr(row, name) != value for name, value in _ROW_DEFAULTS.items()):
                    raise ValueError(f"Outbox row {row.key!r} is not a new row")
                by_key[row.key] = (*_as_row(row), row.next_attempt_at)
        elif row[0] not in by_key:
            by_key[row[0]] = (*row, row[-1])
    unique = list(by_key.values())
    ids = {}
    for start in range(0, len(unique), INSERT_CHUNK):
        ids.update({key: pk for pk, key in _insert_rows(unique[start : start + INSERT_CHUNK])})
    missing = [key for key in by_key if key not in ids]
    if missing:  # written before: dispatch those still pending, as `_enqueue` does
        ids.update(
            OutboxMessage.objects.filter(key__in=missing, status=OutboxStatus.PENDING).values_list(
                "key", "pk"
            )
        )
    for row in instances:
        row.pk = ids.get(row.key)
        row._state.adding = row.pk is None
    enqueue_batched_on_commit_many(
        deliver_outbox_messages, [ids[key] for key in by_key if key in ids]
    )


# Inside `core.batch.batched()` the rows of a sweep wait here and go in with one INSERT per chunk;
# the rows `notify_*` returned get their ids when the batch is flushed.
_OUTBOX = Sink("outbox", _insert_many)


def _prepare(messages: list[OutboxMessage]) -> list:
    """Give each column with a default that is None its default; returns the columns written."""
    for message in messages:
        for field in _DEFAULTED:
            if getattr(message, field.attname) is None:
                setattr(message, field.attname, field.get_default())
    return _FIELDS


def _insert_unless_exists(message: OutboxMessage) -> bool:
    """One `INSERT ... ON CONFLICT DO NOTHING RETURNING id`: no savepoint round trips.

    Returns False (and leaves `message.pk` unset) when a row with the same key exists.
    """
    _prepare([message])
    # One row: the ORM's own INSERT (what bench/creation_floor.py replays with pgbench); the
    # hand-written one pays off for a sweep's many rows.
    rows = insert_ignoring_conflicts(
        OutboxMessage, [message], fields=_FIELDS, returning=[OutboxMessage._meta.pk, _KEY]
    )
    if not rows:
        return False
    message.pk = rows[0][0]
    message._state.adding = False
    return True


def _check_key(key: str) -> None:
    if not key:
        raise ValueError("An outbox key is required")
    if _UNSAVED_ID.search(key):
        # `f"ticket:{event.pk}"` of an event still waiting in a batch: every such key would be
        # the same, and all notifications but the first would be dropped as duplicates.
        raise ValueError(f"Outbox key {key!r} was built from an object that is not saved yet")


def _subject(subject: str) -> str:
    subject = _one_line(subject)
    if len(subject) > _SUBJECT_MAX:
        subject = subject[: _SUBJECT_MAX - 1] + "…"
    return subject


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
    ignore_suppression: bool = False,
) -> OutboxMessage:
    """Writes the outbox row for `key` (or finds the existing one) and dispatches it on commit.

    A repeated key returns the row already written, unchanged; it is dispatched again only while
    it is still pending (harmless: delivery claims the row), never once sent, sending or failed.
    """
    _check_key(key)
    subject = _subject(subject)
    request_id = current_request_id()
    message = _new_message(
        key=key,
        channel=channel,
        recipient=recipient,
        recipient_user=recipient_user,
        subject=subject,
        body=body,
        html_body=html_body,
        headers=headers or {},
        request_id="" if request_id == "-" else request_id,
        ignore_suppression=ignore_suppression,
    )
    if batch.active():
        _OUTBOX.add(message)
        return message
    if not _insert_unless_exists(message):
        message = OutboxMessage.objects.filter(key=key).first()
        if message is None:  # Not the key that clashed.
            raise IntegrityError(f"Outbox row {key!r} could not be written")
        if message.status != OutboxStatus.PENDING:
            return message
    from core.tasks import deliver_outbox_messages

    enqueue_batched_on_commit(deliver_outbox_messages, message.pk)
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
    category: str | None = None,
    ignore_suppression: bool = False,
) -> OutboxMessage | None:
    """Sends one e-mail to `to` (once per key), with an HTML alternative when `html_body` is given.

    `headers` are kept as given (Message-ID, In-Reply-To, References for threading). A Message-ID
    is generated when absent and stored, so every retry carries the same one.

    `category` (a `consent.EmailCategory`) makes the e-mail optional: nothing is written (None is
    returned) when `to` opted out of it, and it carries RFC 8058 one-click unsubscribe headers
    (put `consent.unsubscribe_url(to, category)` in its footer too). An address on the
    suppression list is not sent to (the row fails when it is dispatched), unless
    `ignore_suppression` (the confirmation e-mail of `suppression.request_confirmation` only).
    """
    headers = {str(name): str(value) for name, value in (headers or {}).items()}
    if not any(name.lower() == "message-id" for name in headers):
        headers["Message-ID"] = make_message_id()
    if reply_to:
        headers["Reply-To"] = reply_to
    if category is not None:
        if consent.opted_out(to, category):
            logger.debug("%s opted out of %s e-mail; not sending %s", to, category, key)
            return None
        headers.update(consent.list_unsubscribe_headers(to, category))
    message = _enqueue(
        key=key,
        channel=Channel.EMAIL,
        recipient=to,
        recipient_user=user,
        subject=subject,
        body=body,
        html_body=html_body,
        headers=headers,
        ignore_suppression=ignore_suppression,
    )
    return message


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


def enqueue_webhook(*, key: str, url: str, delivery_id: str) -> OutboxMessage:
    """The outbox row of one webhook delivery (`core.webhooks`): the sender reads the delivery
    by its id, signs its body and posts it; retries and backoff are the outbox's."""
    return _enqueue(
        key=key, channel=Channel.WEBHOOK, recipient=url[:500], headers={"delivery": delivery_id}
    )
