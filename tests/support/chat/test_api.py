"""The chat API as visitors and staff use it."""

import pytest
from rest_framework.test import APIClient

from support.chat import services
from support.models import ChatSession, Ticket
from support.models.choices import Channel

from .factories import ChatWidgetFactory, chat_world

pytestmark = pytest.mark.django_db
BASE = "/api/v1/chat"


def visitor(token=None):
    client = APIClient()
    if token:
        client.credentials(HTTP_X_CHAT_TOKEN=token)
    return client


def staff(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def begin(widget, email="vic@example.com"):
    response = visitor().post(
        f"{BASE}/sessions/",
        {"widget": widget.public_key, "visitor_name": "Vic", "visitor_email": email},
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_visitor_starts_writes_reads_after_a_seq_ends_and_rates():
    widget, [agent] = chat_world()
    started = begin(widget)
    session_id, token = started["session"]["id"], started["resume_token"]
    assert started["session"]["status"] == "active"
    assert started["session"]["agent_name"] == agent.display_name
    assert started["ws_url"].endswith(f"/ws/chat/sessions/{session_id}/")
    assert started["ws_ticket"]
    client = visitor(token)
    first = client.post(
        f"{BASE}/sessions/{session_id}/messages/", {"client_msg_id": "c-1", "body": "Hi"}
    )
    assert first.status_code == 201
    retried = client.post(
        f"{BASE}/sessions/{session_id}/messages/", {"client_msg_id": "c-1", "body": "Hi"}
    )
    assert retried.status_code == 200 and retried.json()["seq"] == first.json()["seq"]
    staff(agent).post(
        f"{BASE}/sessions/{session_id}/messages/",
        {"client_msg_id": "a-1", "body": "whisper", "internal": True},
    )
    staff(agent).post(
        f"{BASE}/sessions/{session_id}/messages/", {"client_msg_id": "a-2", "body": "Hello!"}
    )
    page = client.get(f"{BASE}/sessions/{session_id}/messages/?after_seq={first.json()['seq']}")
    assert [m["body"] for m in page.json()["results"]] == ["Hello!"]  # no whisper
    assert page.json()["has_more"] is False
    staff_page = staff(agent).get(f"{BASE}/sessions/{session_id}/messages/?after_seq=0")
    assert "whisper" in [m["body"] for m in staff_page.json()["results"]]

    assert client.post(f"{BASE}/sessions/{session_id}/rate/", {"rating": 5}).status_code == 409
    ended = client.post(f"{BASE}/sessions/{session_id}/end/")
    assert ended.json()["status"] == "ended" and ended.json()["end_reason"] == "visitor"
    rated = client.post(f"{BASE}/sessions/{session_id}/rate/", {"rating": 5, "comment": "Great"})
    assert rated.json()["rating"] == 5


def test_another_session_or_no_token_is_a_404():
    widget, _ = chat_world(max_chats=5)
    mine = begin(widget)
    theirs = begin(widget, email="other@example.com")
    client = visitor(mine["resume_token"])
    other_id = theirs["session"]["id"]
    assert client.get(f"{BASE}/sessions/{other_id}/").status_code == 404
    assert client.get(f"{BASE}/sessions/{other_id}/messages/").status_code == 404
    assert visitor().get(f"{BASE}/sessions/{other_id}/").status_code == 404
    assert visitor().get(f"{BASE}/sessions/").status_code in (401, 403)


def test_staff_list_accept_and_transfer_into_a_ticket(lead):
    widget, [agent] = chat_world(max_chats=1)
    begin(widget)
    waiting = begin(widget, email="w@example.com")
    assert waiting["session"]["status"] == "queued"
    assert waiting["session"]["queue_position"] == 1
    listed = staff(agent).get(f"{BASE}/sessions/?status=queued")
    assert [s["id"] for s in listed.json()["results"]] == [waiting["session"]["id"]]
    # The agent is full: the lead takes it.
    services.heartbeat(lead)
    taken = staff(lead).post(f"{BASE}/sessions/{waiting['session']['id']}/accept/")
    assert taken.status_code == 200 and taken.json()["agent_name"] == lead.display_name
    visitor(waiting["resume_token"]).post(
        f"{BASE}/sessions/{waiting['session']['id']}/messages/",
        {"client_msg_id": "c-1", "body": "Refund please"},
    )
    moved = staff(lead).post(
        f"{BASE}/sessions/{waiting['session']['id']}/transfer/", {"to": "ticket"}
    )
    assert moved.status_code == 200, moved.content
    number = moved.json()["ticket"]
    ticket = Ticket.objects.get(number=number)
    assert ticket.channel == Channel.CHAT and ticket.subject == "Refund please"
    assert moved.json()["status"] == "transferred"


def test_a_reconnecting_visitor_gets_a_fresh_single_use_ticket():
    widget, _ = chat_world()
    started = begin(widget)
    client = visitor(started["resume_token"])
    response = client.post(f"{BASE}/sessions/{started['session']['id']}/ws-ticket/")
    assert response.status_code == 200
    session = ChatSession.objects.get(public_id=started["session"]["id"])
    assert services.consume_ws_ticket(response.json()["ws_ticket"], public_id=session.public_id)
    # The ticket of the start was voided by the new one.
    with pytest.raises(services.NotFound):
        services.consume_ws_ticket(started["ws_ticket"], public_id=session.public_id)


def test_widget_status_and_the_offline_form():
    widget = ChatWidgetFactory()
    status = visitor().get(f"{BASE}/widgets/{widget.public_key}/status/")
    assert status.json()["status"] == "offline"
    refused = visitor().post(
        f"{BASE}/sessions/", {"widget": widget.public_key, "visitor_email": "a@example.com"}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "chat_offline"
    left = visitor().post(
        f"{BASE}/widgets/{widget.public_key}/offline-message/",
        {"visitor_email": "a@example.com", "body": "Call me"},
    )
    assert left.status_code == 201
    assert Ticket.objects.get(number=left.json()["ticket"]).channel == Channel.CHAT
    assert visitor().get(f"{BASE}/widgets/nope/status/").status_code == 404


def test_the_long_poll_answers_what_came_after_the_seq(client):
    widget, [agent] = chat_world()
    started = begin(widget)
    session = ChatSession.objects.get(public_id=started["session"]["id"])
    services.post_message(session=session, by=agent, client_msg_id="a-1", body="Hello")
    services.post_message(session=session, by=agent, client_msg_id="a-2", body="VIP", internal=True)
    url = f"/chat/sessions/{session.public_id}/poll/"
    token = {"HTTP_X_CHAT_TOKEN": started["resume_token"]}
    answer = client.get(url, {"after_seq": 0, "wait": 0}, **token).json()
    assert [m["body"] for m in answer["results"]] == [
        f"{agent.display_name} joined the chat.",
        "Hello",
    ]
    assert answer["session"]["status"] == "active"
    quiet = client.get(url, {"after_seq": session.last_seq + 5, "wait": 0}, **token).json()
    assert quiet["results"] == []
    assert client.get(url, {"wait": 0}).status_code == 404
    assert client.get(url, {"wait": 0}, HTTP_X_CHAT_TOKEN="nope").status_code == 404


def test_the_staff_list_costs_the_same_queries_at_1_and_20_chats():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    widget, [agent] = chat_world(max_chats=1)
    client = staff(agent)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{BASE}/sessions/")
        assert response.status_code == 200
        return len(queries), response.json()["results"]

    begin(widget)
    one, rows = count()
    for n in range(19):
        begin(widget, email=f"v{n}@example.com")
    twenty, rows = count()
    assert len(rows) == 20 and one == twenty
    assert sorted(r["queue_position"] for r in rows if r["queue_position"]) == list(range(1, 20))
