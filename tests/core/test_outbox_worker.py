"""End to end: a notification written while the broker is down is sent once after it returns.

A real Celery worker (a subprocess) consumes from Redis and delivers against the test database,
so this test commits its rows (`transactional_db`) and writes e-mails to files it can count.
"""

import logging
import re

import pytest
import redis

from core.models import OutboxMessage
from core.models.notifications import OutboxStatus
from core.notifications import dispatch, notify_email
from core.tasks import deliver_outbox_message, deliver_outbox_messages
from tests.celery_worker import launch_worker, published_to, wait_for

# One xdist process runs every real-worker test in turn: they share Redis databases (which they
# flush) and would otherwise compete for the two cores.
pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery-worker"),
]

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


def broker(url):
    """Publishes the delivery tasks to the broker at `url` instead of the configured one."""
    return published_to(url, deliver_outbox_message, deliver_outbox_messages)


@pytest.fixture
def worker(tmp_path, settings):
    """A Celery worker on Redis db 9, delivering e-mail to files in tmp_path/mail."""
    redis.Redis.from_url(WORKER_REDIS_URL).flushdb()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    running = launch_worker(
        tmp_path,
        settings_text=WORKER_SETTINGS.format(
            settings_module=settings.SETTINGS_MODULE, mail_dir=str(mail_dir)
        ),
        redis_url=WORKER_REDIS_URL,
    )

    class Worker:
        mail = mail_dir
        log = staticmethod(running.log)

        @staticmethod
        def emails():
            """The subjects of all e-mails written (a file may hold several messages)."""
            return [
                subject
                for path in mail_dir.iterdir()
                for subject in re.findall(r"^Subject: (.*)$", path.read_text(), re.MULTILINE)
            ]

    try:
        yield Worker
    finally:
        running.stop()
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
