"""End to end: a notification written while the broker is down is sent once after it returns.

A real Celery worker (a subprocess) consumes from Redis and delivers against the test database,
so this test commits its rows (`transactional_db`) and writes e-mails to files it can count.
"""

import logging
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.db import connection

from config.celery import app as celery_app
from core.models import OutboxMessage
from core.models.notifications import OutboxStatus
from core.notifications import dispatch, notify_email
from core.tasks import deliver_outbox_message, deliver_outbox_messages

# One xdist process runs every real-worker test in turn: they share Redis databases (which they
# flush) and would otherwise compete for the two cores.
pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery-worker"),
]

ROOT = Path(__file__).resolve().parents[2]
WORKER_REDIS_URL = "redis://127.0.0.1:6379/9"
DEAD_BROKER_URL = "redis://127.0.0.1:1/0"
SUBJECT = "Your ticket #7 was answered"

# The test settings pin the locmem e-mail backend, which a separate process cannot report back
# from; the worker runs the settings of this test run with the file-based backend instead.
WORKER_SETTINGS = """\
from {settings_module} import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = {mail_dir!r}
"""


@contextmanager
def broker(url):
    """Publishes the delivery tasks to the broker at `url` instead of the configured one."""
    conn = celery_app.connection_for_write(url)
    tasks = [celery_app.tasks[t.name] for t in (deliver_outbox_message, deliver_outbox_messages)]
    for task in tasks:
        apply_async = type(task).apply_async

        def publish(self, *args, _apply_async=apply_async, **kwargs):
            kwargs.setdefault("connection", conn)
            return _apply_async(self, *args, **kwargs)

        task.apply_async = publish.__get__(task)
    try:
        yield
    finally:
        for task in tasks:
            del task.apply_async
        conn.release()


def database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(
        f"Timed out after {timeout}s waiting for {what() if callable(what) else what}"
    )


@pytest.fixture
def worker(tmp_path, settings):
    """A Celery worker on Redis db 9, delivering e-mail to files in tmp_path/mail."""
    redis.Redis.from_url(WORKER_REDIS_URL).flushdb()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    (tmp_path / "worker_settings.py").write_text(
        WORKER_SETTINGS.format(settings_module=settings.SETTINGS_MODULE, mail_dir=str(mail_dir))
    )
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(tmp_path), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        "DJANGO_SETTINGS_MODULE": "worker_settings",
        "DATABASE_URL": database_url(),
        "DATABASE_CONN_MAX_AGE": "0",
        "REDIS_URL": WORKER_REDIS_URL,
        "CELERY_BROKER_URL": WORKER_REDIS_URL,
        "CELERY_RESULT_BACKEND": WORKER_REDIS_URL,
    }
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "-Q",
        "celery",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "info",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    class Worker:
        mail = mail_dir

        @staticmethod
        def log():
            return log_path.read_text(errors="replace")

        @staticmethod
        def emails():
            """The subjects of all e-mails written (a file may hold several messages)."""
            return [
                subject
                for path in mail_dir.iterdir()
                for subject in re.findall(r"^Subject: (.*)$", path.read_text(), re.MULTILINE)
            ]

    try:
        wait_for(lambda: " ready." in Worker.log() or process.poll() is not None, 20, "the worker")
        assert process.poll() is None, f"The worker exited:\n{Worker.log()}"
        yield Worker
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        redis.Redis.from_url(WORKER_REDIS_URL).flushdb()


def test_a_notification_written_while_the_broker_is_down_is_sent_once_after_it_returns(
    caplog, settings, request
):
    # 1. The broker is unreachable when the change commits: the write succeeds, the publish fails.
    with broker(DEAD_BROKER_URL), caplog.at_level(logging.ERROR, logger="core.jobs"):
        row = notify_email(
            key="ticket:7:answered",
            to="customer@example.com",
            subject=SUBJECT,
            body="We replied to your ticket.",
        )
    assert any(
        "Could not enqueue core.tasks.deliver_outbox_messages" in r.getMessage()
        for r in caplog.records
    ), caplog.text
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)

    # 2. The broker is back and a worker is running; the periodic sweep re-dispatches the row.
    worker = request.getfixturevalue("worker")
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    with broker(WORKER_REDIS_URL):
        assert dispatch.sweep() == 1
    wait_for(
        lambda: OutboxMessage.objects.get(pk=row.pk).status == OutboxStatus.SENT,
        30,
        lambda: f"the row to be sent; worker log:\n{worker.log()}",
    )
    assert worker.emails() == [SUBJECT]
    row.refresh_from_db()
    assert row.attempts == 1
    assert row.provider_message_id == row.headers["Message-ID"]

    # 3. The same task delivered twice more (broker redelivery, a late sweep) sends nothing.
    with broker(WORKER_REDIS_URL):
        task_ids = [deliver_outbox_message.apply_async(args=[row.pk]).id for _ in range(2)]
    for task_id in task_ids:
        wait_for(
            lambda t=task_id: f"[{t}] succeeded" in worker.log(),
            15,
            lambda t=task_id: f"task {t}; worker log:\n{worker.log()}",
        )
        assert re.search(rf"\[{task_id}\] succeeded in [\d.]+s: 'already_sent'", worker.log())
    assert worker.emails() == [SUBJECT]
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
