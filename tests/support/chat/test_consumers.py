"""The chat sockets, driven by channels' WebsocketCommunicator on the in-memory layer.

`transaction=True`: the services publish after commit, and the consumer reads what the test
wrote from its own transaction.
"""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from config.asgi import application
from support.chat import consumers, realtime, relay, services
from support.models import AgentProfile, ChatEvent
from support.models.choices import AgentStatus
from support.services import update_agent_profile

from .factories import chat_world, start

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = "https://shop.example"


@pytest.fixture(autouse=True)
def fresh_layer():
    channel_layers.backends.clear()  # its queues belong to the previous test's event loop
    yield
    channel_layers.backends.clear()


def run(coroutine_function):
    return async_to_sync(coroutine_function)()


async def visitor_socket(session, *, ticket=None, origin=ORIGIN, last_seq=0, expect_state=True):
    ticket = ticket or await database_sync_to_async(services.issue_ws_ticket)(session)
    socket = WebsocketCommunicator(
        application,
        f"/ws/chat/sessions/{session.public_id}/",
        headers=[(b"origin", origin.encode())],
    )
    connected, _ = await socket.connect()
    assert connected
    await socket.send_json_to({"type": "auth", "ticket": ticket, "last_seq": last_seq})
    if expect_state:
        state = await socket.receive_json_from()
        assert state["type"] == "session", state
    return socket


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def desk_socket(user, cookie, *, origin="http://127.0.0.1"):
    socket = WebsocketCommunicator(
        application,
        "/ws/desk/",
        headers=[(b"origin", origin.encode()), (b"cookie", f"sessionid={cookie}".encode())],
    )
    connected, _ = await socket.connect()
    assert connected
    return socket


async def subscribe(socket, session, last_seq=None):
    await socket.send_json_to(
        {"type": "subscribe", "session_id": str(session.public_id), "last_seq": last_seq or 0}
    )
    state = await socket.receive_json_from()
    assert state["type"] == "session", state


async def frames_until(socket, kind, **match):
    """Frames up to and including the first of `kind` matching `match`."""
    seen = []
    while True:
        frame = await socket.receive_json_from(timeout=3)
        seen.append(frame)
        if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
            return seen


def test_the_first_frame_must_be_a_valid_ticket_for_this_session():
    widget, _ = chat_world(max_chats=5)
    session, _ = start(widget)
    other, _ = start(widget, email="o@example.com")

    async def scenario():
        # No auth frame: refused.
        socket = WebsocketCommunicator(
            application,
            f"/ws/chat/sessions/{session.public_id}/",
            headers=[(b"origin", ORIGIN.encode())],
        )
        await socket.connect()
        await socket.send_json_to({"type": "message", "client_msg_id": "x", "body": "hi"})
        assert (await socket.receive_json_from())["code"] == "auth_required"
        assert (await socket.receive_output())["code"] == 4401
        # Another session's ticket on this session's socket: not found.
        foreign = await database_sync_to_async(services.issue_ws_ticket)(other)
        socket = await visitor_socket(session, ticket=foreign, expect_state=False)
        assert (await socket.receive_json_from())["code"] == "not_found"
        assert (await socket.receive_output())["code"] == 4404
        # A good ticket works once; replayed, it opens nothing.
        ticket = await database_sync_to_async(services.issue_ws_ticket)(session)
        first = await visitor_socket(session, ticket=ticket)
        replayed = await visitor_socket(session, ticket=ticket, expect_state=False)
        assert (await replayed.receive_json_from())["code"] == "not_found"
        await first.disconnect()
        # The origin must be one of the widget's.
        socket = await visitor_socket(session, origin="https://evil.example", expect_state=False)
        assert (await socket.receive_json_from())["code"] == "origin"
        assert (await socket.receive_output())["code"] == 4403

    run(scenario)


def test_no_auth_frame_in_time_closes_the_socket(monkeypatch):
    monkeypatch.setattr(consumers, "AUTH_TIMEOUT_SECONDS", 0.05)
    widget, _ = chat_world()
    session, _ = start(widget)

    async def scenario():
        socket = WebsocketCommunicator(application, f"/ws/chat/sessions/{session.public_id}/")
        await socket.connect()
        assert (await socket.receive_json_from())["code"] == "auth_timeout"
        assert (await socket.receive_output())["code"] == 4408

    run(scenario)


def test_the_desk_needs_a_staff_session(customer):
    cookie = session_cookie(customer)

    async def scenario():
        anonymous = WebsocketCommunicator(
            application, "/ws/desk/", headers=[(b"origin", b"http://127.0.0.1")]
        )
        connected, code = await anonymous.connect()
        assert not connected and code == 4401
        socket = WebsocketCommunicator(
            application,
            "/ws/desk/",
            headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", f"sessionid={cookie}".encode())],
        )
        connected, code = await socket.connect()
        assert not connected and code == 4401

    run(scenario)


def test_messages_fan_out_both_ways_and_a_retried_send_is_acked_once():
    widget, [agent] = chat_world()
    session, _ = start(widget)
    cookie = session_cookie(agent)

    async def scenario():
        visitor = await visitor_socket(session)
        joined = await visitor.receive_json_from()  # the replay: "... joined the chat."
        assert joined["sender_type"] == "system"
        desk = await desk_socket(agent, cookie)
        await subscribe(desk, session, last_seq=joined["seq"])
        await frames_until(visitor, "presence")

        send = {"type": "message", "client_msg_id": "c-1", "body": "Hello"}
        await visitor.send_json_to(send)
        got = await frames_until(visitor, "ack", client_msg_id="c-1")
        seq = got[-1]["seq"]
        await visitor.send_json_to(send)  # retried: the same number, no second message
        again = await frames_until(visitor, "ack", client_msg_id="c-1")
        assert again[-1]["seq"] == seq
        at_desk = await frames_until(desk, "message", seq=seq)
        assert at_desk[-1]["body"] == "Hello"

        await desk.send_json_to(
            {
                "type": "message",
                "session_id": str(session.public_id),
                "client_msg_id": "a-1",
                "body": "Hi!",
            }
        )
        reply = await frames_until(visitor, "message", client_msg_id="a-1")
        assert reply[-1]["seq"] == seq + 1 and reply[-1]["sender_type"] == "agent"
        # Nothing else is pending on either side: the retry was never announced again.
        for socket in (visitor, desk):
            pending = []
            while not await socket.receive_nothing(timeout=0.2):
                pending.append(await socket.receive_json_from())
            assert not [f for f in pending if f.get("type") == "message" and f["seq"] == seq]
        await visitor.disconnect()
        await desk.disconnect()

    run(scenario)


def test_a_reconnect_replays_everything_after_the_last_seq_in_order():
    widget, [agent] = chat_world()
    session, _ = start(widget)
    for n in range(5):
        services.post_message(session=session, by=agent, client_msg_id=f"a-{n}", body=f"m{n}")
    session.refresh_from_db()

    async def scenario():
        socket = await visitor_socket(session, last_seq=3)
        seqs = [(await socket.receive_json_from())["seq"] for _ in range(session.last_seq - 3)]
        assert seqs == list(range(4, session.last_seq + 1))
        assert await socket.receive_nothing(timeout=0.1)
        await socket.disconnect()

    run(scenario)


def test_whispers_never_reach_the_visitor():
    widget, [agent] = chat_world()
    session, _ = start(widget)
    cookie = session_cookie(agent)

    async def scenario():
        visitor = await visitor_socket(session)
        await visitor.receive_json_from()  # joined
        desk = await desk_socket(agent, cookie)
        await subscribe(desk, session)
        sid = str(session.public_id)
        await desk.send_json_to(
            {
                "type": "message",
                "session_id": sid,
                "client_msg_id": "w",
                "body": "VIP!",
                "internal": True,
            }
        )
        await desk.send_json_to(
            {"type": "message", "session_id": sid, "client_msg_id": "p", "body": "Hello"}
        )
        frames = await frames_until(visitor, "message", client_msg_id="p")
        assert all("VIP" not in str(f) for f in frames)
        desk_frames = await frames_until(desk, "message", client_msg_id="p")
        assert [f["body"] for f in desk_frames if f["type"] == "message"][-2:] == ["VIP!", "Hello"]
        # Visitors who whisper are refused.
        await visitor.send_json_to(
            {"type": "message", "client_msg_id": "v", "body": "psst", "internal": True}
        )
        ack = await frames_until(visitor, "ack", client_msg_id="v")
        stored = await database_sync_to_async(
            lambda: session.messages.get(client_msg_id="v").is_internal
        )()
        assert stored is False and ack[-1]["seq"]
        await visitor.disconnect()
        await desk.disconnect()

    run(scenario)


def test_a_lost_wake_up_is_filled_from_the_database(monkeypatch):
    widget, [agent] = chat_world()
    session, _ = start(widget)

    async def scenario():
        visitor = await visitor_socket(session)
        joined = await visitor.receive_json_from()
        real = realtime.send_now
        monkeypatch.setattr(realtime, "send_now", lambda groups, event: None)  # lost
        await database_sync_to_async(services.post_message)(
            session=session, by=agent, client_msg_id="a-1", body="lost"
        )
        monkeypatch.setattr(realtime, "send_now", real)
        await database_sync_to_async(services.post_message)(
            session=session, by=agent, client_msg_id="a-2", body="found"
        )
        first, second = await visitor.receive_json_from(), await visitor.receive_json_from()
        assert [first["body"], second["body"]] == ["lost", "found"]
        assert [first["seq"], second["seq"]] == [joined["seq"] + 1, joined["seq"] + 2]
        await visitor.disconnect()

    run(scenario)


def test_typing_reaches_the_other_side_and_never_the_database():
    widget, [agent] = chat_world()
    session, _ = start(widget)
    cookie = session_cookie(agent)

    async def scenario():
        visitor = await visitor_socket(session)
        await visitor.receive_json_from()
        desk = await desk_socket(agent, cookie)
        await subscribe(desk, session, last_seq=session.last_seq)
        await frames_until(visitor, "presence")
        # The consumers' database work runs in this test's thread (thread-sensitive), where
        # the capture is entered.
        queries = CaptureQueriesContext(connection)
        await database_sync_to_async(queries.__enter__)()
        await visitor.send_json_to({"type": "typing", "on": True})
        typing = await desk.receive_json_from()
        await visitor.send_json_to({"type": "typing", "on": False})
        stopped = await desk.receive_json_from()
        await database_sync_to_async(queries.__exit__)(None, None, None)
        assert (typing["type"], typing["on"], stopped["on"]) == ("typing", True, False)
        assert len(queries) == 0
        assert await visitor.receive_nothing(timeout=0.1)  # not echoed to the typer's side
        await visitor.disconnect()
        await desk.disconnect()

    run(scenario)


def test_the_embedded_relay_delivers_what_another_process_wrote(settings, monkeypatch):
    settings.CHAT_REALTIME = "db-relay"
    monkeypatch.setattr(relay, "start", lambda: None)  # the test drives the relay itself
    monkeypatch.setattr(realtime, "in_socket_process", False)
    widget, [agent] = chat_world()
    session, _ = start(widget)

    async def scenario():
        visitor = await visitor_socket(session)
        joined = await visitor.receive_json_from()
        last_id = await database_sync_to_async(relay._latest_id)()
        # "gunicorn": a REST send writes the event row with the message.
        await database_sync_to_async(services.post_message)(
            session=session, by=agent, client_msg_id="a-1", body="via the relay"
        )
        assert await visitor.receive_nothing(timeout=0.1)
        assert await database_sync_to_async(ChatEvent.objects.filter(pk__gt=last_id).count)() == 1
        await relay.relay_once(last_id)
        frame = await visitor.receive_json_from()
        assert (frame["body"], frame["seq"]) == ("via the relay", joined["seq"] + 1)
        await visitor.disconnect()

    run(scenario)


def test_an_event_is_encoded_once_whatever_the_number_of_sockets(monkeypatch):
    widget, [agent] = chat_world()
    session, _ = start(widget)
    cookie = session_cookie(agent)
    encoded, per_socket = [], []
    real_encode = realtime.encode
    monkeypatch.setattr(
        realtime, "encode", lambda event: encoded.append(event["type"]) or real_encode(event)
    )
    real_encode_json = consumers.ChatSocket.encode_json

    async def encode_json(cls, content):
        per_socket.append(content.get("type"))
        return await real_encode_json(content)

    monkeypatch.setattr(consumers.ChatSocket, "encode_json", classmethod(encode_json))

    async def scenario():
        visitor = await visitor_socket(session)
        await visitor.receive_json_from()  # joined
        desks = [await desk_socket(agent, cookie) for _ in range(3)]
        for desk in desks:
            await subscribe(desk, session, last_seq=session.last_seq)
        await frames_until(visitor, "presence")
        encoded.clear()
        per_socket.clear()
        await database_sync_to_async(services.post_message)(
            session=session, by=agent, client_msg_id="a-1", body="To all of you"
        )
        for socket in (visitor, *desks):
            frames = await frames_until(socket, "message", client_msg_id="a-1")
            assert frames[-1]["body"] == "To all of you"
        assert encoded.count("message") == 1  # once, for four sockets
        assert "message" not in per_socket
        for socket in (visitor, *desks):
            await socket.disconnect()

    run(scenario)


def test_an_agents_availability_reaches_the_desks_and_their_visitors(lead):
    widget, [agent] = chat_world()
    session, _ = start(widget)
    cookie = session_cookie(lead)
    profile = AgentProfile.objects.get(user=agent)

    async def scenario():
        visitor = await visitor_socket(session)
        await visitor.receive_json_from()  # joined
        desk = await desk_socket(lead, cookie)
        await database_sync_to_async(update_agent_profile)(
            profile=profile, by=lead, status=AgentStatus.AWAY
        )
        [at_desk] = [f for f in await frames_until(desk, "presence") if f["type"] == "presence"]
        assert at_desk["agent_id"] == agent.pk and at_desk["status"] == "away"
        assert at_desk["chat_enabled"] is True
        told = (await frames_until(visitor, "presence"))[-1]
        assert told == {
            "type": "presence",
            "agent": agent.display_name,
            "state": "away",
            "session_id": str(session.public_id),
        }
        await database_sync_to_async(update_agent_profile)(
            profile=profile, by=lead, chat_enabled=False
        )
        at_desk = (await frames_until(desk, "presence"))[-1]
        assert (at_desk["status"], at_desk["chat_enabled"]) == ("away", False)
        assert await visitor.receive_nothing(timeout=0.1)  # settings are the desks' business
        await visitor.disconnect()
        await desk.disconnect()

    run(scenario)
