"""Chat services: starting and routing, messages and their sequence, transfers, the end."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import Conflict, DomainError, NotFound
from core.roles import is_staff_member
from support.chat import services
from support.chat.models import SessionStatus
from support.models import AgentProfile, ChatMessage, ChatSession, Ticket, TicketMessage
from support.models.choices import AgentStatus, Channel, SenderType
from support.services import update_agent_profile
from tests.support.factories import TeamFactory

from .factories import ChatWidgetFactory, chat_world, online_agent, start

pytestmark = pytest.mark.django_db


def test_a_start_goes_to_an_online_agent_and_the_token_opens_only_that_session():
    widget, [agent] = chat_world()
    session, token = start(widget)
    assert session.status == SessionStatus.ACTIVE
    assert session.agent == agent
    assert session.token_hash != token and len(session.token_hash) == 64
    assert services.session_for_token(session.public_id, token) == session
    other, other_token = start(widget, email="other@example.com")
    with pytest.raises(NotFound):
        services.session_for_token(session.public_id, other_token)
    with pytest.raises(NotFound):
        services.session_for_token(other.public_id, "wrong")
    # The visitor is told who joined.
    [joined] = ChatMessage.objects.filter(session=session, sender_type=SenderType.SYSTEM)
    assert agent.display_name in joined.body_text


def test_routing_prefers_fewest_chats_then_longest_since_the_last():
    widget, [first, second] = chat_world(agents=2, max_chats=3)
    a, _ = start(widget)
    b, _ = start(widget, email="b@example.com")
    assert {a.agent, b.agent} == {first, second}
    c, _ = start(widget, email="c@example.com")
    # Both have one chat: the one whose last chat is older gets it.
    assert c.agent == a.agent


def test_away_stale_or_full_agents_get_no_new_chats_but_keep_theirs():
    widget, [agent] = chat_world(max_chats=1)
    mine, _ = start(widget)
    assert mine.agent == agent
    queued, _ = start(widget, email="q@example.com")
    assert queued.status == SessionStatus.QUEUED and queued.agent is None
    assert services.queue_position(queued) == 1
    later, _ = start(widget, email="l@example.com")
    assert services.queue_position(later) == 2

    services.end_session(session=mine, by=agent)
    queued.refresh_from_db()
    assert queued.status == SessionStatus.ACTIVE and queued.agent == agent
    later.refresh_from_db()
    assert services.queue_position(later) == 1

    AgentProfile.objects.filter(user=agent).update(status=AgentStatus.AWAY)
    assert services.widget_status(widget) == "offline"
    queued.refresh_from_db()
    assert queued.agent == agent and queued.status == SessionStatus.ACTIVE  # kept


def test_an_agent_not_seen_for_90_seconds_is_not_eligible():
    widget, [agent] = chat_world()
    AgentProfile.objects.filter(user=agent).update(
        last_seen_at=timezone.now() - dt.timedelta(seconds=91)
    )
    assert services.widget_status(widget) == "offline"
    with pytest.raises(Conflict):
        start(widget)
    services.heartbeat(agent)
    assert services.widget_status(widget) == "online"


def test_widget_status_busy_when_everyone_is_full_and_the_queue_too():
    widget, [agent] = chat_world(max_chats=1)
    widget.max_queue = 1
    widget.save()
    start(widget)
    assert services.widget_status(widget) == "online"  # one may still wait
    start(widget, email="w@example.com")
    assert services.widget_status(widget) == "busy"


def test_a_retried_send_returns_the_first_message():
    widget, [agent] = chat_world()
    session, _ = start(widget)
    first, created = services.post_message(
        session=session, by=None, client_msg_id="c-1", body="Hello <b>there</b>"
    )
    again, created_again = services.post_message(
        session=session, by=None, client_msg_id="c-1", body="Hello <b>there</b>"
    )
    assert created and not created_again and again.pk == first.pk
    assert first.body_text == "Hello <b>there</b>"
    assert "<b>" not in first.body_html  # escaped, then sanitised
    reply, _ = services.post_message(session=session, by=agent, client_msg_id="a-1", body="Hi")
    assert reply.seq == first.seq + 1
    assert reply.sender_type == SenderType.AGENT
    session.refresh_from_db()
    assert session.first_agent_reply_at == reply.created_at


def _statements(queries) -> list[str]:
    """The captured SQL without transaction control (BEGIN, COMMIT, savepoints)."""
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
    return [q["sql"] for q in queries if not q["sql"].upper().startswith(control)]


@pytest.mark.django_db(transaction=True)
def test_a_message_costs_two_statements_and_a_retry_takes_no_number():
    widget, [agent] = chat_world()
    session, _ = start(widget)
    session = ChatSession.objects.get(pk=session.pk)  # as a socket holds it
    is_staff_member(agent)  # the roles are read once per socket, not per message
    base = session.last_seq

    for by, client_id in ((None, "c-1"), (agent, "a-1")):
        with CaptureQueriesContext(connection) as queries:
            message, created = services.post_message(
                session=session, by=by, client_msg_id=client_id, body="Hello"
            )
        update, insert = _statements(queries)
        assert created
        assert update.startswith('UPDATE "support_chatsession"') and "RETURNING" in update
        assert insert.startswith('INSERT INTO "support_chatmessage"')
    assert message.seq == base + 2 and session.last_seq == base + 2

    again, created = services.post_message(
        session=session, by=agent, client_msg_id="a-1", body="Hello"
    )
    assert (again.pk, again.seq, created) == (message.pk, base + 2, False)
    stored = ChatSession.objects.get(pk=session.pk)
    assert stored.last_seq == base + 2  # the retry gave its number back
    assert stored.first_agent_reply_at == message.created_at
    next_one, _ = services.post_message(session=session, by=None, client_msg_id="c-2", body="x")
    assert next_one.seq == base + 3


def test_a_retried_send_to_an_ended_chat_still_finds_the_first_message():
    widget, _ = chat_world()
    session, _ = start(widget)
    first, _ = services.post_message(session=session, by=None, client_msg_id="c-1", body="Hi")
    services.end_session(session=session, by=None)
    last_seq = ChatSession.objects.get(pk=session.pk).last_seq

    again, created = services.post_message(session=session, by=None, client_msg_id="c-1", body="Hi")

    assert (again.pk, created) == (first.pk, False)
    assert ChatSession.objects.get(pk=session.pk).last_seq == last_seq


def test_whispers_are_staff_only_and_left_out_for_visitors():
    widget, [agent] = chat_world()
    session, _ = start(widget)
    services.post_message(session=session, by=None, client_msg_id="c-1", body="Hi")
    services.post_message(session=session, by=agent, client_msg_id="a-1", body="VIP", internal=True)
    with pytest.raises(DomainError):
        services.post_message(
            session=session, by=None, client_msg_id="c-2", body="x", internal=True
        )
    visitor = [m.body_text for m in services.messages_after(session, 0, staff=False)]
    staff = [m.body_text for m in services.messages_after(session, 0, staff=True)]
    assert "VIP" not in visitor and "VIP" in staff


def test_replay_after_a_sequence_number():
    widget, [agent] = chat_world()
    session, _ = start(widget)
    for n in range(5):
        services.post_message(session=session, by=None, client_msg_id=f"c-{n}", body=f"m{n}")
    seqs = [m.seq for m in services.messages_after(session, 3, staff=False)]
    assert seqs == list(range(4, session.last_seq + 1))
    assert seqs == sorted(seqs)


def test_an_ended_chat_takes_no_messages_and_is_rated_once_ended():
    widget, [agent] = chat_world()
    session, _ = start(widget)
    with pytest.raises(Conflict):
        services.rate_session(session=session, rating=5)
    services.end_session(session=session, by=None)
    with pytest.raises(Conflict):
        services.post_message(session=session, by=None, client_msg_id="late", body="hello?")
    rated = services.rate_session(session=session, rating=4, comment="quick")
    assert (rated.rating, rated.rating_comment) == (4, "quick")
    with pytest.raises(DomainError):
        services.rate_session(session=session, rating=6)


def test_transfer_to_another_agent_and_to_a_team():
    widget, [agent, other] = chat_world(agents=2, max_chats=1)
    session, _ = start(widget)
    target = other if session.agent == agent else agent
    moved = services.transfer_to_agent(session=session, by=session.agent, agent=target)
    assert moved.agent == target
    assert ChatMessage.objects.filter(session=session, body_text__contains="joined").count() == 2

    team = TeamFactory()
    helper = online_agent(team=team)
    moved = services.transfer_to_team(session=session, by=target, team=team)
    assert (moved.team, moved.agent, moved.status) == (team, helper, SessionStatus.ACTIVE)


def test_a_transfer_to_a_full_agent_is_refused():
    widget, [agent, other] = chat_world(agents=2, max_chats=1)
    first, _ = start(widget)
    second, _ = start(widget, email="s@example.com")
    with pytest.raises(Conflict):
        services.transfer_to_agent(session=first, by=first.agent, agent=second.agent)


def test_transfer_to_a_ticket_copies_every_message_one_to_one():
    widget, [agent] = chat_world()
    session, _ = start(widget)
    services.post_message(session=session, by=None, client_msg_id="c-1", body="My printer")
    services.post_message(session=session, by=agent, client_msg_id="a-1", body="On it")
    services.post_message(session=session, by=agent, client_msg_id="a-2", body="VIP", internal=True)
    ticket = services.transfer_to_ticket(session=session, by=agent)
    assert ticket.channel == Channel.CHAT
    assert ticket.subject == "My printer"
    assert ticket.customer_email == "visitor@example.com"
    copied = list(ticket.messages.order_by("created_at", "pk"))
    chat = list(ChatMessage.objects.filter(session=session, seq__lte=4).order_by("seq"))
    assert [(m.body_text, m.is_internal, m.sender_type) for m in copied] == [
        (m.body_text, m.is_internal, m.sender_type) for m in chat
    ]
    assert [m.is_internal for m in copied if m.body_text == "VIP"] == [True]
    assert ticket.first_responded_at is not None
    session.refresh_from_db()
    assert session.status == SessionStatus.TRANSFERRED and session.ticket == ticket
    assert services.transfer_to_ticket(session=session, by=agent) == ticket  # once
    assert Ticket.objects.filter(chat_session=session).count() == 1


def test_the_offline_form_creates_a_chat_ticket():
    widget = ChatWidgetFactory()
    assert services.widget_status(widget) == "offline"
    session = services.leave_offline_message(
        widget=widget,
        customer=None,
        visitor_name="Olive",
        visitor_email="olive@example.com",
        body="Call me back\nplease",
    )
    assert session.status == SessionStatus.OFFLINE
    ticket = session.ticket
    assert (ticket.channel, ticket.customer_email, ticket.subject) == (
        Channel.CHAT,
        "olive@example.com",
        "Call me back",
    )
    with pytest.raises(DomainError):
        services.leave_offline_message(
            widget=widget, customer=None, visitor_name="", visitor_email="", body="x"
        )


def test_socket_tickets_are_single_use_and_for_one_session():
    widget, _ = chat_world()
    session, _ = start(widget)
    other, _ = start(widget, email="o@example.com")
    ticket = services.issue_ws_ticket(session)
    with pytest.raises(NotFound):
        services.consume_ws_ticket(ticket, public_id=other.public_id)
    assert services.consume_ws_ticket(ticket, public_id=session.public_id) == session
    with pytest.raises(NotFound):
        services.consume_ws_ticket(ticket, public_id=session.public_id)  # replayed


def test_the_archive_sweep_makes_one_ticket_per_inactive_session():
    widget, [agent] = chat_world(max_chats=5)
    idle, _ = start(widget)
    services.post_message(session=idle, by=None, client_msg_id="c-1", body="Anyone?")
    fresh, _ = start(widget, email="f@example.com")
    ChatSession.objects.filter(pk=idle.pk).update(
        last_activity_at=timezone.now() - dt.timedelta(minutes=16)
    )
    assert services.due_for_archive() == [idle.pk]
    assert services.archive_inactive() == 1
    assert services.archive_inactive() == 0
    idle.refresh_from_db()
    fresh.refresh_from_db()
    assert idle.status == SessionStatus.ARCHIVED and idle.ticket is not None
    assert fresh.status == SessionStatus.ACTIVE and fresh.ticket is None
    assert TicketMessage.objects.filter(ticket=idle.ticket).count() == 2  # joined + Anyone?


def test_a_visitor_waiting_past_the_widgets_limit_is_offered_the_message_form():
    widget, _ = chat_world(max_chats=1)
    widget.queue_timeout_s = 60
    widget.save()
    start(widget)
    waiting, _ = start(widget, email="w@example.com")
    assert services.session_event(waiting)["offer_message_form"] is False
    ChatSession.objects.filter(pk=waiting.pk).update(
        started_at=timezone.now() - dt.timedelta(seconds=61)
    )
    waiting.refresh_from_db()
    assert services.session_event(waiting)["offer_message_form"] is True


def test_an_agent_back_or_given_more_seats_takes_the_waiting_at_once(
    lead, django_capture_on_commit_callbacks
):
    widget, [agent] = chat_world(max_chats=1)
    first, _ = start(widget)
    waiting, _ = start(widget, email="w@example.com")
    assert waiting.status == SessionStatus.QUEUED
    profile = AgentProfile.objects.get(user=agent)

    with django_capture_on_commit_callbacks(execute=True):
        update_agent_profile(profile=profile, by=lead, max_concurrent_chats=2)

    waiting.refresh_from_db()
    assert (waiting.status, waiting.agent) == (SessionStatus.ACTIVE, agent)

    later, _ = start(widget, email="l@example.com")
    update_agent_profile(profile=profile, by=agent, status=AgentStatus.AWAY)
    with django_capture_on_commit_callbacks(execute=True):
        update_agent_profile(profile=profile, by=lead, max_concurrent_chats=3)
    later.refresh_from_db()
    assert later.status == SessionStatus.QUEUED  # away: a seat is not enough
    with django_capture_on_commit_callbacks(execute=True):
        update_agent_profile(profile=profile, by=agent, status=AgentStatus.AVAILABLE)
    later.refresh_from_db()
    assert (later.status, later.agent) == (SessionStatus.ACTIVE, agent)
    first.refresh_from_db()
    assert first.agent == agent  # kept throughout


def test_lowering_a_maximum_keeps_the_agents_chats_and_gives_no_new_one(lead):
    widget, [agent] = chat_world(max_chats=2)
    mine = [start(widget, email=f"m{n}@example.com")[0] for n in range(2)]
    update_agent_profile(
        profile=AgentProfile.objects.get(user=agent), by=lead, max_concurrent_chats=0
    )
    assert services.widget_status(widget) == "online"  # a visitor may still wait
    waiting, _ = start(widget, email="w@example.com")
    assert waiting.status == SessionStatus.QUEUED
    assert all(ChatSession.objects.get(pk=s.pk).agent == agent for s in mine)
