import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.db import transaction
from django.utils import timezone

from core.housekeeping import purge_expired
from core.models import IdempotencyRecord, Notification, OutboxMessage
from core.models.notifications import Channel, OutboxStatus
from core.notifications import (
    dispatch,
    mark_notifications_read,
    notify_email,
    notify_in_app,
    notify_slack,
    notify_sms,
    notify_teams,
    providers,
)
from core.notifications.sms import SmsProvider
from core.observability import request_id_var
from core.tasks import deliver_outbox_message, deliver_outbox_messages, housekeeping, sweep_outbox
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def published(monkeypatch):
    """Ids published to the broker; nothing reaches the real Redis from these tests."""
    ids = []

    def apply_async(args=None, kwargs=None, **options):
        ids.append(args[0])

    def apply_batch_async(args=None, kwargs=None, **options):
        ids.extend(args[0])

    monkeypatch.setattr(deliver_outbox_message, "apply_async", apply_async)
    monkeypatch.setattr(deliver_outbox_messages, "apply_async", apply_batch_async)
    return ids


@pytest.fixture
def retries(monkeypatch):
    """Countdowns the delivery task asked Celery to retry with."""
    countdowns = []

    def retry(*args, countdown=None, **kwargs):
        countdowns.append(countdown)
        return Retry("retry", when=countdown)

    monkeypatch.setattr(deliver_outbox_message, "retry", retry)
    return countdowns


def email(key="ticket:1:created", **overrides):
    fields = {"key": key, "to": "customer@example.com", "subject": "Ticket #1", "body": "Hello"}
    return notify_email(**{**fields, **overrides})


def make_due(row):
    OutboxMessage.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def failing_email(monkeypatch, error=None):
    def send_email(message):
        raise error or providers.DeliveryError("SMTP unavailable")

    monkeypatch.setattr(providers, "send_email", send_email)


# --- Writing --------------------------------------------------------------------------------


def test_a_rolled_back_transaction_writes_and_enqueues_nothing(
    django_capture_on_commit_callbacks, published
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        email()
        notify_sms(key="sms:1", to="+4915112345678", body="Hi")
        raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()
    assert callbacks == []
    assert published == []


def test_the_task_is_published_only_when_the_transaction_commits(
    django_capture_on_commit_callbacks, published
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        row = email()
        assert published == []
    assert len(callbacks) == 1
    assert published == [row.pk]


def test_the_same_key_twice_gives_one_row(django_capture_on_commit_callbacks, published):
    with django_capture_on_commit_callbacks(execute=True):
        first = email(subject="First")
        second = email(subject="Second")
    assert first.pk == second.pk
    assert OutboxMessage.objects.get().subject == "First"
    assert set(published) == {first.pk}


def test_an_already_sent_key_is_not_enqueued_again(django_capture_on_commit_callbacks, published):
    row = email()
    dispatch.deliver(row.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = email()
    assert again.pk == row.pk
    assert again.status == OutboxStatus.SENT
    assert callbacks == []
    assert len(mail.outbox) == 1


def test_the_request_id_is_recorded():
    token = request_id_var.set("req-123")
    try:
        row = email()
    finally:
        request_id_var.reset(token)
    assert row.request_id == "req-123"


def test_slack_and_teams_without_a_webhook_write_nothing(settings, published):
    settings.SLACK_WEBHOOK_URL = ""
    settings.TEAMS_WEBHOOK_URL = ""
    assert notify_slack(key="slack:1", text="Hi") is None
    assert notify_teams(key="teams:1", text="Hi") is None
    assert not OutboxMessage.objects.exists()


# --- Delivering e-mail ----------------------------------------------------------------------


def test_an_email_is_delivered_and_recorded():
    row = email(
        headers={
            "Message-ID": "<ticket-1-reply@support.example.com>",
            "In-Reply-To": "<original@example.net>",
            "References": "<original@example.net>",
        },
        reply_to="reply+ticket-1@support.example.com",
    )
    assert dispatch.deliver(row.pk).outcome == dispatch.SENT

    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert row.sent_at is not None
    assert row.attempts == 1
    assert row.provider_message_id == "<ticket-1-reply@support.example.com>"
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["customer@example.com"]
    assert sent.subject == "Ticket #1"
    headers = sent.message()
    assert headers["Message-ID"] == "<ticket-1-reply@support.example.com>"
    assert headers["In-Reply-To"] == "<original@example.net>"
    assert headers["References"] == "<original@example.net>"
    assert headers["Reply-To"] == "reply+ticket-1@support.example.com"


def test_a_message_id_is_generated_once_and_kept_for_retries():
    row = email()
    message_id = row.headers["Message-ID"]
    assert message_id.startswith("<") and message_id.endswith("@example.com>")
    dispatch.deliver(row.pk)
    assert mail.outbox[0].message()["Message-ID"] == message_id
    row.refresh_from_db()
    assert row.provider_message_id == message_id


def test_the_esp_message_id_is_recorded_when_the_backend_reports_one(monkeypatch):
    class Status:
        message_id = "esp-42"

    def send(self, fail_silently=False):
        self.anymail_status = Status()
        return 1

    monkeypatch.setattr(providers.EmailMultiAlternatives, "send", send)
    row = email()
    dispatch.deliver(row.pk)
    row.refresh_from_db()
    assert row.provider_message_id == "esp-42"


def test_the_html_body_is_sent_as_an_alternative():
    row = email(html_body="<p>Hello</p>")
    dispatch.deliver(row.pk)
    assert mail.outbox[0].body == "Hello"
    assert mail.outbox[0].alternatives == [("<p>Hello</p>", "text/html")]


def test_a_provider_failure_schedules_a_retry(monkeypatch, retries):
    failing_email(monkeypatch)
    row = email()
    before = timezone.now()

    result = dispatch.deliver(row.pk)

    assert result.outcome == dispatch.RETRY_SCHEDULED
    assert 30 <= result.countdown <= 33
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 1
    assert "SMTP unavailable" in row.last_error
    assert row.next_attempt_at >= before + timedelta(seconds=30)
    assert row.lease_expires_at is None
    assert mail.outbox == []

    # The task asks Celery for a retry after the backoff (the second failure: 60 s).
    make_due(row)
    with pytest.raises(Retry):
        deliver_outbox_message(row.pk)
    assert len(retries) == 1
    assert 60 <= retries[0] <= 66
    row.refresh_from_db()
    assert row.attempts == 2


def test_an_sms_provider_failure_schedules_a_retry(settings):
    settings.SMS_PROVIDER = f"{__name__}.DownSmsProvider"
    row = notify_sms(key="sms:1", to="+4915112345678", body="Your ticket was answered")
    assert dispatch.deliver(row.pk).outcome == dispatch.RETRY_SCHEDULED
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING
    assert "gateway timeout" in row.last_error


class DownSmsProvider(SmsProvider):
    def send(self, to, body):
        raise providers.DeliveryError("gateway timeout")


def test_an_sms_is_sent_through_the_configured_provider(caplog):
    row = notify_sms(key="sms:1", to="+4915112345678", body="Your ticket was answered")
    with caplog.at_level(logging.INFO, logger="core.notifications.sms"):
        assert dispatch.deliver(row.pk).outcome == dispatch.SENT
    row.refresh_from_db()
    assert row.provider_message_id.startswith("log-")
    assert "Your ticket was answered" in caplog.text


def test_after_the_last_attempt_the_row_fails_and_the_task_does_not_raise(
    monkeypatch, settings, retries
):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    failing_email(monkeypatch)
    row = email()
    assert dispatch.deliver(row.pk).outcome == dispatch.RETRY_SCHEDULED
    make_due(row)

    assert deliver_outbox_message(row.pk) == dispatch.FAILED

    assert retries == []
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 2
    assert "SMTP unavailable" in row.last_error
    assert deliver_outbox_message(row.pk) == dispatch.ALREADY_FAILED


def test_a_permanent_failure_fails_at_once(monkeypatch, retries):
    failing_email(monkeypatch, providers.PermanentDeliveryError("Recipient refused"))
    row = email()
    assert deliver_outbox_message(row.pk) == dispatch.FAILED
    assert retries == []
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)


def test_an_unexpected_error_is_retried_like_a_delivery_error(monkeypatch):
    failing_email(monkeypatch, ValueError("bug"))
    row = email()
    assert dispatch.deliver(row.pk).outcome == dispatch.RETRY_SCHEDULED
    row.refresh_from_db()
    assert row.last_error == "ValueError: bug"


def test_redelivering_a_sent_row_sends_nothing_more(retries):
    row = email()
    assert deliver_outbox_message(row.pk) == dispatch.SENT
    assert deliver_outbox_message(row.pk) == dispatch.ALREADY_SENT
    assert dispatch.deliver(row.pk).outcome == dispatch.ALREADY_SENT
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.attempts == 1


def test_a_row_not_yet_due_is_left_alone():
    row = email()
    OutboxMessage.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    assert dispatch.deliver(row.pk).outcome == dispatch.NOT_DUE
    assert mail.outbox == []


def test_a_row_claimed_elsewhere_with_a_live_lease_is_skipped():
    row = email()
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=OutboxStatus.SENDING,
        attempts=1,
        lease_expires_at=timezone.now() + timedelta(seconds=60),
    )
    assert dispatch.deliver(row.pk).outcome == dispatch.CLAIMED_ELSEWHERE
    assert mail.outbox == []
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENDING, 1)


def test_an_expired_lease_is_claimed_again():
    row = email()
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=OutboxStatus.SENDING,
        attempts=1,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert dispatch.deliver(row.pk).outcome == dispatch.SENT
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.lease_expires_at) == (OutboxStatus.SENT, 2, None)


def test_an_expired_lease_after_the_last_attempt_fails_without_sending(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    row = email()
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=OutboxStatus.SENDING,
        attempts=3,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert dispatch.deliver(row.pk).outcome == dispatch.FAILED
    assert mail.outbox == []


def test_a_stale_dispatch_does_not_overwrite_the_current_claim(monkeypatch):
    """A worker that outlived its lease and then fails must not reschedule a re-claimed row."""
    row = email()

    def send_email(message):
        # Meanwhile the lease ran out and another dispatch claimed the row.
        OutboxMessage.objects.filter(pk=message.pk).update(attempts=message.attempts + 1)
        raise providers.DeliveryError("timeout")

    monkeypatch.setattr(providers, "send_email", send_email)
    assert dispatch.deliver(row.pk).outcome == dispatch.CLAIMED_ELSEWHERE
    row.refresh_from_db()
    assert (row.status, row.last_error) == (OutboxStatus.SENDING, "")


def test_a_deliver_for_a_deleted_row_does_nothing():
    assert deliver_outbox_message(987654) == dispatch.MISSING


# --- Sweeper --------------------------------------------------------------------------------


def test_the_sweeper_redispatches_only_rows_whose_task_was_lost(settings, published):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    now = timezone.now()

    def row(key, **fields):
        message = email(key=key)
        OutboxMessage.objects.filter(pk=message.pk).update(**fields)
        return message.pk

    fresh = row("fresh", next_attempt_at=now - timedelta(seconds=5))
    lost = row("lost", next_attempt_at=now - timedelta(seconds=90))
    retry_lost = row("retry-lost", attempts=2, next_attempt_at=now - timedelta(seconds=61))
    retry_waiting = row("retry-waiting", attempts=2, next_attempt_at=now + timedelta(seconds=30))
    sending_live = row(
        "sending-live",
        status=OutboxStatus.SENDING,
        next_attempt_at=now - timedelta(minutes=5),
        lease_expires_at=now + timedelta(seconds=30),
    )
    sending_dead = row(
        "sending-dead",
        status=OutboxStatus.SENDING,
        next_attempt_at=now - timedelta(minutes=5),
        lease_expires_at=now - timedelta(seconds=1),
    )
    row("sent", status=OutboxStatus.SENT, next_attempt_at=now - timedelta(days=1))
    row("failed", status=OutboxStatus.FAILED, next_attempt_at=now - timedelta(days=1))
    published.clear()

    assert sweep_outbox() == 3
    assert sorted(published) == sorted([lost, retry_lost, sending_dead])
    assert {fresh, retry_waiting, sending_live}.isdisjoint(published)

    # Published rows wait one grace period before the sweeper publishes them again.
    published.clear()
    assert dispatch.sweep() == 0
    assert published == []


def test_the_sweeper_works_in_bounded_batches(settings, published):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    for n in range(5):
        email(key=f"k{n}")
    OutboxMessage.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=120))
    published.clear()
    assert dispatch.sweep(batch_size=2) == 2
    assert dispatch.sweep(batch_size=2) == 2
    assert dispatch.sweep(batch_size=2) == 1


def test_a_swept_row_is_delivered_once(settings, published):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    row = email()
    make_due(row)
    published.clear()
    dispatch.sweep()
    for outbox_id in [row.pk, *published]:  # The original task and the sweeper's.
        deliver_outbox_message(outbox_id)
    assert len(mail.outbox) == 1


# --- Webhooks -------------------------------------------------------------------------------


@pytest.fixture
def webhook():
    """A local HTTP server recording the JSON bodies posted to it; set `.status` to answer with."""

    class Hook:
        status = 200
        requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            Hook.requests.append(
                (self.path, self.headers["Content-Type"], json.loads(self.rfile.read(length)))
            )
            self.send_response(Hook.status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    Hook.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield Hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_slack_message_is_posted_once(webhook, settings):
    settings.SLACK_WEBHOOK_URL = f"{webhook.url}/services/T1/B1/x"
    row = notify_slack(key="incident:1:opened", text="Incident opened")
    assert row.channel == Channel.SLACK

    assert deliver_outbox_message(row.pk) == dispatch.SENT
    assert deliver_outbox_message(row.pk) == dispatch.ALREADY_SENT

    assert webhook.requests == [
        ("/services/T1/B1/x", "application/json", {"text": "Incident opened"})
    ]
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT


def test_a_teams_message_goes_to_the_given_webhook(webhook):
    row = notify_teams(key="incident:1:teams", text="Incident opened", webhook_url=webhook.url)
    assert dispatch.deliver(row.pk).outcome == dispatch.SENT
    assert [body for _, _, body in webhook.requests] == [{"text": "Incident opened"}]


def test_a_webhook_server_error_is_retried(webhook, retries):
    webhook.status = 500
    row = notify_slack(key="incident:1:opened", text="Incident opened", webhook_url=webhook.url)

    with pytest.raises(Retry):
        deliver_outbox_message(row.pk)

    assert len(retries) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert "HTTP 500" in row.last_error


def test_a_rejected_webhook_fails_without_retries(webhook, retries):
    webhook.status = 404  # Slack: no_service, the hook was removed.
    row = notify_slack(key="incident:1:opened", text="Incident opened", webhook_url=webhook.url)
    assert deliver_outbox_message(row.pk) == dispatch.FAILED
    assert retries == []


def test_an_unreachable_webhook_is_retried(settings):
    row = notify_slack(key="k", text="Hi", webhook_url="http://127.0.0.1:1/hook")
    assert dispatch.deliver(row.pk).outcome == dispatch.RETRY_SCHEDULED
    row.refresh_from_db()
    assert "unreachable" in row.last_error


# --- In-app ---------------------------------------------------------------------------------


def test_an_in_app_notification_is_created_once_even_if_delivered_twice():
    user = UserFactory()
    row = notify_in_app(key="ticket:1:assigned", user=user, title="Assigned", url="/t/1/")

    assert dispatch.deliver(row.pk).outcome == dispatch.SENT
    # A second dispatch of a row whose "sent" was never recorded (worker died) adds nothing.
    OutboxMessage.objects.filter(pk=row.pk).update(status=OutboxStatus.PENDING)
    assert dispatch.deliver(row.pk).outcome == dispatch.SENT

    notification = Notification.objects.get()
    assert (notification.recipient, notification.title, notification.url) == (
        user,
        "Assigned",
        "/t/1/",
    )
    assert notification.outbox_message_id == row.pk
    row.refresh_from_db()
    assert row.provider_message_id == f"notification:{notification.pk}"


def test_marking_notifications_read_touches_only_the_users_unread_rows():
    user, other = UserFactory(), UserFactory()
    mine = [Notification.objects.create(recipient=user, title=f"n{i}") for i in range(3)]
    already_read = Notification.objects.create(
        recipient=user, title="old", read_at=timezone.now() - timedelta(days=1)
    )
    theirs = Notification.objects.create(recipient=other, title="theirs")

    assert mark_notifications_read(user=user, ids=[mine[0].pk, theirs.pk, already_read.pk]) == 1
    assert mark_notifications_read(user=user) == 2
    assert mark_notifications_read(user=user) == 0

    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    already_read_at = Notification.objects.get(pk=already_read.pk).read_at
    assert already_read_at < timezone.now() - timedelta(hours=23)


# --- Housekeeping ---------------------------------------------------------------------------


def test_housekeeping_purges_only_what_expired(settings, caplog):
    settings.NOTIFICATION_RETENTION_DAYS = 90
    settings.OUTBOX_RETENTION_DAYS = 30
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    now = timezone.now()
    days = lambda n: now - timedelta(days=n)  # noqa: E731
    user = UserFactory()

    def notification(created, read):
        return Notification.objects.create(
            recipient=user, title="n", created_at=created, read_at=created if read else None
        ).pk

    keep_notifications = [notification(days(10), True), notification(days(100), False)]
    notification(days(100), True)  # read and expired
    notification(days(181), False)  # unread but older than twice the retention

    def outbox(key, created, status):
        return OutboxMessage.objects.create(
            key=key,
            channel=Channel.EMAIL,
            recipient="a@example.com",
            created_at=created,
            status=status,
        ).pk

    keep_outbox = [
        outbox("recent-sent", days(5), OutboxStatus.SENT),
        outbox("old-pending", days(60), OutboxStatus.PENDING),
        outbox("old-sending", days(60), OutboxStatus.SENDING),
    ]
    outbox("old-sent", days(31), OutboxStatus.SENT)
    outbox("old-failed", days(45), OutboxStatus.FAILED)

    def record(key, created):
        return IdempotencyRecord.objects.create(
            scope=f"user:{user.pk}",
            key=key,
            method="POST",
            path="/api/v1/tickets/",
            request_digest="x",
            created_at=created,
        ).pk

    keep_record = record("fresh", now - timedelta(hours=23))
    record("stale", now - timedelta(hours=25))

    with caplog.at_level(logging.INFO, logger="core.housekeeping"):
        counts = housekeeping()

    assert counts == {"notifications": 2, "outbox": 2, "idempotency": 1}
    assert "housekeeping purged notifications=2 outbox=2 idempotency=1" in caplog.messages
    assert sorted(Notification.objects.values_list("pk", flat=True)) == sorted(keep_notifications)
    assert sorted(OutboxMessage.objects.values_list("pk", flat=True)) == sorted(keep_outbox)
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [keep_record]

    assert purge_expired() == {"notifications": 0, "outbox": 0, "idempotency": 0}


def test_housekeeping_deletes_in_batches(settings):
    settings.OUTBOX_RETENTION_DAYS = 30
    old = timezone.now() - timedelta(days=40)
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            key=f"k{n}", channel=Channel.SMS, recipient="+1", status="sent", created_at=old
        )
        for n in range(7)
    )
    assert purge_expired(batch_size=3, max_batches=2)["outbox"] == 6
    assert purge_expired(batch_size=3)["outbox"] == 1


def test_one_transaction_publishes_its_rows_in_one_message(
    django_capture_on_commit_callbacks, published
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rows = [email(key=f"batch-{n}") for n in range(3)]
    assert len(callbacks) == 1
    assert published == [row.pk for row in rows]


def test_the_batch_task_delivers_every_row_once():
    rows = [email(key=f"batch-task-{n}") for n in range(3)]
    assert deliver_outbox_messages([r.pk for r in rows] * 2) == {"sent": 3, "already_sent": 3}
    assert len(mail.outbox) == 3


def test_a_rolled_back_savepoint_does_not_lose_the_outer_rows(
    django_capture_on_commit_callbacks, published
):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            inner = email(key="inner")
            raise RuntimeError("inner work failed")
        outer = email(key="outer")
    assert outer.pk in published
    assert not OutboxMessage.objects.filter(pk=inner.pk).exists()


def test_message_ids_are_unique_and_in_the_sender_domain(settings):
    from core.notifications.providers import make_message_id

    ids = {make_message_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("<") and i.endswith("@example.com>") for i in ids)
    settings.DEFAULT_FROM_EMAIL = "Support <help@desk.example.org>"
    assert make_message_id().endswith("@desk.example.org>")


def test_a_row_built_for_the_outbox_is_the_row_the_constructor_builds():
    from core.notifications.services import _new_message

    user = UserFactory()
    values = {"key": "k", "channel": "email", "recipient": "a@example.com", "headers": {}}
    fast, slow = (
        _new_message(recipient_user=user, **values),
        OutboxMessage(recipient_user=user, **values),
    )
    fast_fields = {k: v for k, v in vars(fast).items() if k != "_state"}
    slow_fields = {k: v for k, v in vars(slow).items() if k != "_state"}
    assert fast_fields.keys() == slow_fields.keys()
    for name in ("created_at", "next_attempt_at"):
        assert abs(fast_fields.pop(name) - slow_fields.pop(name)) < timedelta(seconds=5)
    assert fast_fields == slow_fields
    assert fast.recipient_user is user and fast._state.adding and fast._state.db is None
    with pytest.raises(ValueError):
        _new_message(recipient_user="not a user", **values)


def test_rows_enqueued_together_in_a_batch_are_the_rows_notify_writes(
    django_capture_on_commit_callbacks, published
):
    """`enqueue_many` in a batch (tuples, no model instances) writes what `notify_in_app` and
    `notify_email` write, one row per key, each dispatched once; outside a batch it is them."""
    from core.batch import batched
    from core.notifications import services

    user = UserFactory()
    title = "  A long\n title " + "x" * 400

    def messages(prefix):
        return [
            services.in_app(key=f"{prefix}:in-app", user=user, title=title, body="b", url="/u/"),
            services.in_app(key=f"{prefix}:bare", user=user, title="t"),
            services.email(
                key=f"{prefix}:email", to=user.email, subject=title, body="B", user=user
            ),
            services.email(key=f"{prefix}:email", to="other@example.com", subject="x", body="x"),
            services.email(key=f"{prefix}:nobody", to="list@example.com", subject="s", body="e"),
        ]

    token = request_id_var.set("req-batch")
    try:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            notify_in_app(key="one:in-app", user=user, title=title, body="b", url="/u/")
            notify_in_app(key="one:bare", user=user, title="t")
            notify_email(key="one:email", to=user.email, subject=title, body="B", user=user)
            notify_email(key="one:nobody", to="list@example.com", subject="s", body="e")
            with batched():
                services.enqueue_many(messages("two"))
                services.enqueue_many(messages("one"))  # written before: nothing new
            services.enqueue_many(messages("three"))  # no batch: `notify_*` one by one
    finally:
        request_id_var.reset(token)

    def rows(prefix):
        found = OutboxMessage.objects.filter(key__startswith=f"{prefix}:").order_by("key")
        values = list(found.values())
        for row in values:
            assert row.pop("key").startswith(f"{prefix}:")
            row.pop("id")
            assert row.pop("next_attempt_at") <= timezone.now()
            assert row.pop("created_at") <= timezone.now()
            if row["channel"] == Channel.EMAIL:
                message_id = row["headers"].pop("Message-ID")
                assert message_id.startswith("<") and message_id.endswith("@example.com>")
        return values

    assert len(rows("two")) == 4
    assert rows("two") == rows("one") == rows("three")
    assert set(published) == set(OutboxMessage.objects.values_list("pk", flat=True))
    # A batch dispatches each of its keys once (the pending rows of "one" again, as `_enqueue`
    # does for a key written before; and "three" for its repeated key).
    batch_rows = OutboxMessage.objects.filter(key__startswith="two:").values_list("pk", flat=True)
    assert all(published.count(pk) == 1 for pk in batch_rows)
    assert OutboxMessage.objects.get(key="two:email").recipient == user.email  # the first kept
    with pytest.raises(ValueError, match="not saved yet"), batched():
        services.enqueue_many([services.in_app(key="ticket:None:x", user=user, title="t")])


@pytest.mark.django_db(transaction=True)
def test_ids_enqueued_together_are_published_a_hundred_per_message(monkeypatch):
    from core import jobs

    published = []
    monkeypatch.setattr(jobs, "_publish", lambda task, args, kwargs: published.append(args[0]))
    with transaction.atomic():
        jobs.enqueue_batched_on_commit_many(deliver_outbox_messages, range(150))
        jobs.enqueue_batched_on_commit(deliver_outbox_messages, 150)
        assert not published
    assert published == [list(range(100)), list(range(100, 151))]
    jobs.enqueue_batched_on_commit_many(deliver_outbox_messages, [7, 8])  # no transaction
    assert published[-1] == [7, 8]
