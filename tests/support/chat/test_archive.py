"""Archiving inactive chats through core's scheduled work, and their transcripts."""

import datetime as dt

import pytest
from django.utils import timezone

from core.models import OutboxMessage
from support.chat import services, tasks, transcript
from support.chat.models import SessionStatus
from support.models import ChatArchive, ChatSession, TicketMessage

from .factories import chat_world, start

pytestmark = pytest.mark.django_db


def quiet(session, minutes=16):
    ChatSession.objects.filter(pk=session.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(minutes=minutes)
    )


def test_the_beat_task_makes_one_ticket_per_inactive_chat_run_twice_or_not():
    widget, [agent] = chat_world(max_chats=5)
    idle, _ = start(widget)
    services.post_message(session=idle, by=None, client_msg_id="c-1", body="Printer is on fire")
    services.post_message(session=idle, by=agent, client_msg_id="a-1", body="Unplug it")
    services.post_message(session=idle, by=agent, client_msg_id="a-2", body="VIP", internal=True)
    awake, _ = start(widget, email="awake@example.com")
    quiet(idle)

    first = tasks.archive_inactive_chats()
    second = tasks.archive_inactive_chats()
    assert (first["scheduled"], first["archived"]) == (1, 1)
    assert (second["scheduled"], second["archived"]) == (0, 0)
    idle.refresh_from_db()
    awake.refresh_from_db()
    assert idle.status == SessionStatus.ARCHIVED and idle.end_reason == "inactive"
    assert awake.status == SessionStatus.ACTIVE and awake.ticket_id is None
    copied = list(TicketMessage.objects.filter(ticket=idle.ticket).order_by("created_at", "pk"))
    assert [(m.body_text, m.is_internal) for m in copied] == [
        (f"{agent.display_name} joined the chat.", False),
        ("Printer is on fire", False),
        ("Unplug it", False),
        ("VIP", True),
    ]
    assert idle.ticket.subject == "Printer is on fire"
    assert ChatArchive.objects.filter(session=idle).count() == 1
    # The transcript went to the visitor once, without the whisper.
    [mail] = OutboxMessage.objects.filter(recipient="visitor@example.com", subject__contains="chat")
    assert "Unplug it" in mail.body and "VIP" not in mail.body


def test_a_chat_that_woke_up_after_being_scheduled_is_left_alone():
    widget, _ = chat_world()
    session, _ = start(widget)
    quiet(session)
    assert services.schedule_archives() == 1
    services.post_message(session=session, by=None, client_msg_id="c-1", body="Still here!")
    services.run_archive(ChatArchive.objects.get(session=session))
    session.refresh_from_db()
    assert session.status == SessionStatus.ACTIVE and session.ticket_id is None


def test_nothing_due_costs_no_scheduling():
    widget, _ = chat_world()
    start(widget)
    assert services.schedule_archives() == 0
    assert tasks.archive_inactive_chats()["archived"] == 0


def test_transcripts_leave_whispers_to_staff(client, agent):
    widget, [chat_agent] = chat_world()
    session, token = start(widget)
    services.post_message(session=session, by=None, client_msg_id="c-1", body="Hi <there>")
    services.post_message(
        session=session, by=chat_agent, client_msg_id="a-1", body="psst", internal=True
    )
    text = transcript.as_text(session)
    assert "Hi <there>" in text and "psst" not in text
    assert "(whisper) " in transcript.as_text(session, staff=True)
    html = transcript.as_html(session)
    assert "Hi &lt;there&gt;" in html and "psst" not in html

    url = f"/chat/sessions/{session.public_id}/transcript.txt"
    assert client.get(url).status_code == 404
    visitor = client.get(url, HTTP_X_CHAT_TOKEN=token)
    assert visitor.status_code == 200 and b"psst" not in visitor.content
    assert visitor["Content-Type"].startswith("text/plain")
    client.force_login(agent)
    staff = client.get(f"/chat/sessions/{session.public_id}/transcript.html")
    assert staff.status_code == 200 and b"psst" in staff.content
