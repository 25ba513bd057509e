"""Chat's beat tasks, called as the beat calls them."""

import pytest

from support.chat import services, tasks
from support.chat.models import SessionStatus
from support.models import AgentProfile, ChatSession
from tests.support.factories import TeamFactory

from .factories import ChatWidgetFactory, chat_world, online_agent, start

pytestmark = pytest.mark.django_db


def test_the_beat_routes_whoever_waits_once_a_seat_is_free():
    widget, [agent] = chat_world(max_chats=1)
    busy, _ = start(widget)
    waiting, _ = start(widget, email="w@example.com")
    assert tasks.route_waiting_chats() == 0  # nobody free: left waiting
    # The seat frees without any service being told (a chat ended in another process).
    ChatSession.objects.filter(pk=busy.pk).update(status=SessionStatus.ENDED)

    assert tasks.route_waiting_chats() == 1

    waiting.refresh_from_db()
    assert (waiting.status, waiting.agent) == (SessionStatus.ACTIVE, agent)


def test_a_chat_transferred_to_a_team_waits_for_that_teams_agents():
    widget, [agent] = chat_world(max_chats=3)
    session, _ = start(widget)
    team = TeamFactory()
    member = online_agent(team=team)
    AgentProfile.objects.filter(user=member).update(last_seen_at=None)  # not here yet
    moved = services.transfer_to_team(session=session, by=agent, team=team)
    assert moved.status == SessionStatus.QUEUED

    assert tasks.route_waiting_chats() == 0  # the widget's agent has seats, but not the team
    services.heartbeat(member)
    assert tasks.route_waiting_chats() == 1

    moved.refresh_from_db()
    assert (moved.status, moved.agent, moved.team) == (SessionStatus.ACTIVE, member, team)


def test_a_queue_without_agents_holds_up_no_other():
    stuck = ChatWidgetFactory(team=TeamFactory())
    helper = online_agent(team=stuck.team, max_chats=1)
    start(stuck, email="first@example.com")  # the helper's one seat
    for n in range(3):
        start(stuck, email=f"s{n}@example.com")
    widget, [agent] = chat_world(max_chats=1)
    busy, _ = start(widget)
    waiting, _ = start(widget, email="w@example.com")
    ChatSession.objects.filter(pk=busy.pk).update(status=SessionStatus.ENDED)

    assert services.route_waiting(limit=1) == 1

    waiting.refresh_from_db()
    assert waiting.agent == agent
    assert ChatSession.objects.filter(widget=stuck, status=SessionStatus.QUEUED).count() == 3
    assert services.active_chat_counts([helper.pk]) == {helper.pk: 1}
