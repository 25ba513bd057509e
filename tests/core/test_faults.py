"""Faults with real processes: workers killed, tasks outliving the broker's visibility timeout,
Redis restarted and flushed, database connections killed, an SMTP server that takes a message
and never confirms it. Every e-mail is sent exactly once, or (when nobody can know) not again.

The worker tests start their own `redis-server` on a free port (`tests.celery_worker.RedisServer`)
and real Celery workers against the test database; the e-mail backend of the workers
(`fault_mail.py`, written per test) writes one file per message sent and can hold a chosen
message until the test releases it, so a test can act at a known point of a delivery.
"""

import socket
import threading

import pytest
import requests
from anymail.exceptions import AnymailRequestsAPIError
from django.db import connection, transaction

from core.models import OutboxMessage
from core.models.notifications import OutboxStatus
from core.notifications import dispatch, notify_email, providers
from core.tasks import deliver_outbox_message, deliver_outbox_messages
from tests.celery_worker import (
    WORKER_APPLICATION_NAME,
    RedisServer,
    launch_worker,
    published_to,
    wait_for,
)

# --- an SMTP server that accepts the message and then never confirms it ----------------------


class FakeSMTPServer:
    """Speaks just enough SMTP. `stall` is where it stops answering: "greeting" (before 220) or
    "after_data" (it read the whole message, then never sends the final 250)."""

    def __init__(self, stall=None):
        self.stall, self.messages = stall, []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        lines = conn.makefile("rb")
        try:
            if self.stall == "greeting":
                lines.readline()  # wait for the client to give up
                return
            conn.sendall(b"220 fake ESMTP\r\n")
            while line := lines.readline():
                command = line.decode().strip().upper()
                if command.startswith(("EHLO", "HELO")):
                    conn.sendall(b"250 fake\r\n")
                elif command == "DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    body = []
                    while (data := lines.readline()) not in (b".\r\n", b""):
                        body.append(data)
                    self.messages.append(b"".join(body))
                    if self.stall == "after_data":
                        lines.readline()  # accepted; the confirmation never comes
                        return
                    conn.sendall(b"250 queued as 1\r\n")
                elif command == "QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:  # MAIL, RCPT, RSET, NOOP
                    conn.sendall(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.listener.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def smtp_server(request, settings):
    server = FakeSMTPServer(stall=request.param)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 0.5
    yield server
    server.close()


def _deliver_again(row):
    """Whatever a retry would do: make a pending row due and deliver it once more."""
    OutboxMessage.objects.filter(pk=row.pk, status=OutboxStatus.PENDING).update(
        next_attempt_at=row.created_at
    )
    return dispatch.deliver(row.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("smtp_server", ["after_data"], indirect=True)
def test_an_smtp_server_that_accepts_and_then_times_out_is_not_sent_the_message_again(
    smtp_server,
):
    row = notify_email(key="fault:smtp", to="c@example.com", subject="Answered", body="Hi")
    assert dispatch.deliver(row.pk).outcome == dispatch.FAILED
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert "Outcome unknown" in row.last_error, row.last_error
    assert _deliver_again(row).outcome == dispatch.ALREADY_FAILED
    assert dispatch.sweep() == 0
    assert len(smtp_server.messages) == 1
    assert row.headers["Message-ID"].encode() in smtp_server.messages[0]


@pytest.mark.django_db
@pytest.mark.parametrize("smtp_server", ["greeting"], indirect=True)
def test_an_smtp_server_that_times_out_before_taking_the_message_is_tried_again(smtp_server):
    row = notify_email(key="fault:smtp2", to="c@example.com", subject="Answered", body="Hi")
    assert dispatch.deliver(row.pk).outcome == dispatch.RETRY_SCHEDULED
    row.refresh_from_db()
    assert (row.status, smtp_server.messages) == (OutboxStatus.PENDING, [])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("cause", "outcome"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), dispatch.FAILED),
        (requests.exceptions.ConnectTimeout("connect timed out"), dispatch.RETRY_SCHEDULED),
    ],
)
def test_an_esp_that_never_answers_is_not_sent_the_message_again(
    cause, outcome, settings, monkeypatch
):
    settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
    calls = []

    def send(self, fail_silently=False):
        calls.append(self)
        raise AnymailRequestsAPIError("SendGrid API call failed") from cause

    monkeypatch.setattr(providers.EmailMultiAlternatives, "send", send)
    row = notify_email(key="fault:esp", to="c@example.com", subject="Answered", body="Hi")
    assert dispatch.deliver(row.pk).outcome == outcome
    _deliver_again(row)
    assert len(calls) == (1 if outcome == dispatch.FAILED else 2)


# --- real workers ---------------------------------------------------------------------------

FAULT_MAIL = """\
import os, pathlib, time, uuid

from django.core.mail.backends.base import BaseEmailBackend

DIR = pathlib.Path({mail_dir!r})


class EmailBackend(BaseEmailBackend):
    def send_messages(self, messages):
        for message in messages:
            subject = message.subject
            if (DIR / f"hold-{{subject}}").exists():
                (DIR / f"holding-{{subject}}").write_text(str(os.getpid()))
                deadline = time.monotonic() + 60
                while not (DIR / f"release-{{subject}}").exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
            (DIR / f"sent-{{uuid.uuid4().hex}}").write_text(subject)
        return len(messages)
"""

WORKER_SETTINGS = """\
from {settings_module} import *  # noqa: F403

EMAIL_BACKEND = "fault_mail.EmailBackend"
OUTBOX_LEASE_SECONDS = {lease}
# A message a worker took and never acknowledged is handed out again after 3 s, and the
# workers look for such messages every second (production: an hour, and every 100 s).
CELERY_BROKER_TRANSPORT_OPTIONS = {{
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "visibility_timeout": 3,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}}
"""


class Faults:
    """One test's Redis, workers and mail folder."""

    def __init__(self, tmp_path, settings):
        self.tmp_path, self.settings = tmp_path, settings
        self.mail = tmp_path / "mail"
        self.mail.mkdir()
        (tmp_path / "fault_mail.py").write_text(FAULT_MAIL.format(mail_dir=str(self.mail)))
        self.redis = RedisServer(tmp_path).start()
        self.workers = []

    def worker(self, name="worker", lease=120):
        text = WORKER_SETTINGS.format(settings_module=self.settings.SETTINGS_MODULE, lease=lease)
        running = launch_worker(
            self.tmp_path, settings_text=text, redis_url=self.redis.url, name=name
        )
        self.workers.append(running)
        return running

    def logs(self):
        return "\n".join(f"--- {w.log_path.name}\n{w.log()}" for w in self.workers)

    def broker(self):
        return published_to(self.redis.url, deliver_outbox_message, deliver_outbox_messages)

    def hold(self, subject):
        (self.mail / f"hold-{subject}").touch()

    def release(self, subject):
        (self.mail / f"release-{subject}").touch()

    def wait_holding(self, subject):
        wait_for(
            lambda: (self.mail / f"holding-{subject}").exists(),
            30,
            lambda: f"a worker to hold {subject}\n{self.logs()}",
        )

    def sent(self):
        return sorted(p.read_text() for p in self.mail.glob("sent-*"))

    def notify(self, *subjects):
        """One transaction writing one e-mail per subject: one batch task, published on commit."""
        with self.broker(), transaction.atomic():
            return [
                notify_email(key=f"fault:{s}", to="c@example.com", subject=s, body="Hi")
                for s in subjects
            ]

    def wait_all_sent(self, rows, timeout=40):
        wait_for(
            lambda: (
                not OutboxMessage.objects.filter(pk__in=[r.pk for r in rows])
                .exclude(status=OutboxStatus.SENT)
                .exists()
            ),
            timeout,
            lambda: f"every row sent: {self.statuses(rows)}\n{self.logs()}",
        )

    @staticmethod
    def statuses(rows):
        return dict(
            OutboxMessage.objects.filter(pk__in=[r.pk for r in rows]).values_list(
                "subject", "status"
            )
        )

    def close(self):
        for running in self.workers:
            running.stop()
        self.redis.stop()


@pytest.fixture
def faults(tmp_path, settings):
    setup = Faults(tmp_path, settings)
    try:
        yield setup
    finally:
        setup.close()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("celery-worker")
def test_a_worker_killed_in_the_middle_of_a_batch_leaves_every_message_sent_once(faults):
    first = faults.worker("first", lease=2)
    faults.hold("m3")
    rows = faults.notify("m1", "m2", "m3", "m4", "m5")
    faults.wait_holding("m3")
    first.kill()  # SIGKILL: the batch message stays unacknowledged in Redis
    assert faults.sent() == ["m1", "m2"]
    assert faults.statuses(rows)["m3"] == OutboxStatus.SENDING

    # The broker hands the batch out again (visibility timeout); m1 and m2 are not sent again,
    # m3's lease has expired so it is claimed and sent, m4 and m5 are sent.
    (faults.mail / "hold-m3").unlink()
    faults.worker("second", lease=2)
    faults.wait_all_sent(rows)
    assert faults.sent() == ["m1", "m2", "m3", "m4", "m5"]
    assert "'already_sent': 2" in faults.logs()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("celery-worker")
def test_a_task_that_outlives_the_visibility_timeout_is_redelivered_and_the_copy_does_nothing(
    faults,
):
    faults.worker("slow")
    faults.hold("slow")
    rows = faults.notify("slow")
    faults.wait_holding("slow")
    # Past the 3 s visibility timeout the broker gives the still-running task to another worker.
    faults.worker("other")
    wait_for(
        lambda: "'claimed_elsewhere': 1" in faults.logs(),
        30,
        lambda: f"the second copy to find the row claimed\n{faults.logs()}",
    )
    faults.release("slow")
    faults.wait_all_sent(rows)
    assert faults.sent() == ["slow"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("celery-worker")
def test_redis_restarted_or_flushed_with_work_queued_loses_nothing(faults, settings):
    running = faults.worker("worker")
    # 1. Redis dies (no persistence): what is committed meanwhile cannot be published.
    faults.redis.stop()
    lost_at_commit = faults.notify("while-down")
    faults.redis.start()
    # 2. Work queued behind a busy worker, then the whole Redis is flushed.
    faults.hold("busy")
    busy = faults.notify("busy")
    faults.wait_holding("busy")
    queued = faults.notify("queued-1", "queued-2")
    assert faults.redis.client().llen("celery") == 1
    faults.redis.client().flushall()
    faults.release("busy")
    faults.wait_all_sent(busy)

    # 3. The sweeper publishes what is still pending; the same worker, still running, sends it.
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    with faults.broker():
        assert dispatch.sweep() == 3
    faults.wait_all_sent(lost_at_commit + queued)
    assert faults.sent() == ["busy", "queued-1", "queued-2", "while-down"]
    assert running.process.poll() is None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("celery-worker")
def test_a_database_connection_killed_mid_task_leaves_nothing_half_done(faults):
    faults.worker("worker")
    faults.hold("m1")
    rows = faults.notify("m1", "m2")
    faults.wait_holding("m1")
    # The worker claimed m1 and is in the provider call; kill its database session (ours only).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            [WORKER_APPLICATION_NAME],
        )
        assert [row[0] for row in cursor.fetchall()] == [True]
    faults.release("m1")
    # The provider accepted m1: the worker records that on a new connection, then goes on.
    faults.wait_all_sent(rows, timeout=20)
    assert faults.sent() == ["m1", "m2"]
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}
    assert "Lost the database connection recording the sending of outbox" in faults.logs()
