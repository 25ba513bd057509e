"""Chat under simultaneous writers on PostgreSQL, each thread with its own connection."""

import pytest
from django.db import connection

from support.chat import services
from support.chat.models import SessionStatus
from support.models import ChatMessage, ChatSession
from tests.concurrency import assert_outcomes, run_concurrently

from .factories import chat_world, start

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_threads_posting_to_one_session_get_sequences_without_gaps():
    assert connection.vendor == "postgresql"
    widget, _ = chat_world()
    session, _ = start(widget)
    base = session.last_seq  # the "joined" line

    def send(n):
        message, created = services.post_message(
            session=ChatSession.objects.get(pk=session.pk),
            by=None,
            client_msg_id=f"c-{n}",
            body=f"message {n}",
        )
        return message.seq, created

    results = assert_outcomes(run_concurrently(send, [(n,) for n in range(20)]), succeeded=20)
    assert sorted(seq for seq, _ in results) == list(range(base + 1, base + 21))
    assert all(created for _, created in results)
    # Retried by the same 20 clients at once: nothing new, each gets its first number.
    again = assert_outcomes(run_concurrently(send, [(n,) for n in range(20)]), succeeded=20)
    assert [seq for seq, _ in again] == [seq for seq, _ in results]
    assert not any(created for _, created in again)
    assert ChatMessage.objects.filter(session=session).count() == base + 20
    session.refresh_from_db()
    assert session.last_seq == base + 20


def test_fifty_simultaneous_starts_never_give_an_agent_a_third_chat():
    assert connection.vendor == "postgresql"
    widget, agents = chat_world(agents=3, max_chats=2)

    def begin(n):
        session, _ = start(widget, email=f"v{n}@example.com")
        return session.status, session.agent_id

    results = assert_outcomes(run_concurrently(begin, [(n,) for n in range(50)]), succeeded=50)
    active = [agent for status, agent in results if status == SessionStatus.ACTIVE]
    assert sorted(active) == sorted([a.pk for a in agents] * 2)
    assert sum(status == SessionStatus.QUEUED for status, _ in results) == 44
    assert services.active_chat_counts([a.pk for a in agents]) == {a.pk: 2 for a in agents}
    queued = ChatSession.objects.filter(status=SessionStatus.QUEUED).order_by("started_at", "pk")
    assert [services.queue_position(s) for s in queued] == list(range(1, 45))
