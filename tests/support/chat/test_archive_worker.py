"""End to end: the archive beat task run by a real Celery worker, twice: one ticket, every message.

The worker consumes Redis db 3 (this worktree's) and works against the test database, so the
test commits its rows. Outbox deliveries go to a queue nobody consumes; the test counts rows.
"""

import datetime as dt
import re

import pytest
import redis
from django.utils import timezone

from support.chat.models import SessionStatus
from support.chat.tasks import archive_inactive_chats
from support.models import ChatArchive, ChatSession, Ticket, TicketMessage
from tests.celery_worker import launch_worker, published_to, wait_for

from .factories import chat_world, start

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("celery-worker"),
]
WORKER_REDIS_URL = "redis://127.0.0.1:6379/14"  # its own: other worker tests use 9, 11-13
WORKER_SETTINGS = """\
from {settings_module} import *  # noqa: F403
CELERY_TASK_ROUTES = {{
    "core.tasks.deliver_outbox_message": {{"queue": "outbox-parked"}},
    "core.tasks.deliver_outbox_messages": {{"queue": "outbox-parked"}},
}}
"""


@pytest.fixture
def worker(tmp_path, settings):
    redis.Redis.from_url(WORKER_REDIS_URL).delete("celery")  # nothing left over to work
    started = launch_worker(
        tmp_path,
        settings_text=WORKER_SETTINGS.format(settings_module=settings.SETTINGS_MODULE),
        redis_url=WORKER_REDIS_URL,
        name="chat-archive-worker",
    )
    yield started
    started.stop()


def run_in_worker(worker) -> str:
    with published_to(WORKER_REDIS_URL, archive_inactive_chats):
        task_id = archive_inactive_chats.apply_async().id
    wait_for(
        lambda: f"[{task_id}] succeeded" in worker.log(),
        60,
        lambda: f"task {task_id}; worker log:\n{worker.log()[-5000:]}",
    )
    return re.search(rf"\[{task_id}\] succeeded in [\d.]+s: (.*)", worker.log()).group(1)


def test_the_worker_archives_an_inactive_chat_into_exactly_one_ticket(worker):
    from support.chat import services

    widget, [agent] = chat_world()
    session, _ = start(widget)
    for n in range(5):
        services.post_message(session=session, by=None, client_msg_id=f"c-{n}", body=f"c{n}")
        services.post_message(session=session, by=agent, client_msg_id=f"a-{n}", body=f"a{n}")
    services.post_message(session=session, by=agent, client_msg_id="w", body="note", internal=True)
    ChatSession.objects.filter(pk=session.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(minutes=20)
    )
    first = run_in_worker(worker)
    second = run_in_worker(worker)
    assert "'archived': 1" in first and "'archived': 0" in second, (first, second)
    session.refresh_from_db()
    assert session.status == SessionStatus.ARCHIVED
    assert Ticket.objects.filter(chat_session=session).count() == 1
    messages = TicketMessage.objects.filter(ticket=session.ticket)
    assert messages.count() == 12  # joined + 10 + the whisper
    assert messages.filter(is_internal=True).count() == 1
    assert ChatArchive.objects.filter(session=session, state="done").count() == 1
