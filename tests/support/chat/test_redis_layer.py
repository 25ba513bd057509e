"""The sockets over the production layer (channels-redis pub/sub, `WatchedPubSubLayer`) against
the real Redis of the test settings, including its connections being cut."""

import uuid

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from django.conf import settings as django_settings

from support.chat import services

from .factories import chat_world, start
from .test_consumers import visitor_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_layer(settings):
    name = f"chat-test-{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "support.chat.layers.WatchedPubSubLayer",
            "CONFIG": {
                "hosts": [{"address": django_settings.REDIS_URL, "client_name": name}],
                "prefix": name,
            },
        }
    }
    channel_layers.backends.clear()
    yield name
    channel_layers.backends.clear()


def cut_connections(client_name: str) -> int:
    """What a Redis restart does to the layer: every connection of its dropped."""
    admin = redis.Redis.from_url(django_settings.REDIS_URL)
    killed = 0
    for client in admin.client_list():
        if client.get("name") == client_name:
            admin.client_kill_filter(_id=client["id"])
            killed += 1
    return killed


def test_messages_reach_the_socket_through_redis(redis_layer):
    widget, [agent] = chat_world()
    session, _ = start(widget)

    async def scenario():
        socket = await visitor_socket(session)
        joined = await socket.receive_json_from()
        await database_sync_to_async(services.post_message)(
            session=session, by=agent, client_msg_id="a-1", body="through Redis"
        )
        frame = await socket.receive_json_from(timeout=3)
        assert (frame["body"], frame["seq"]) == ("through Redis", joined["seq"] + 1)
        await socket.disconnect()

    async_to_sync(scenario)()


def test_a_cut_layer_closes_sockets_and_the_reconnect_replays_with_no_gap(redis_layer):
    widget, [agent] = chat_world()
    session, _ = start(widget)

    async def scenario():
        socket = await visitor_socket(session)
        last = (await socket.receive_json_from())["seq"]
        await database_sync_to_async(services.post_message)(
            session=session, by=agent, client_msg_id="before", body="before"
        )
        last = (await socket.receive_json_from(timeout=3))["seq"]

        assert await database_sync_to_async(cut_connections)(redis_layer) >= 1
        closed = await socket.receive_output(timeout=10)
        assert closed == {"type": "websocket.close", "code": 4002}
        # While the visitor is away the agent writes three messages.
        for n in range(3):
            await database_sync_to_async(services.post_message)(
                session=session, by=agent, client_msg_id=f"away-{n}", body=f"away {n}"
            )
        again = await visitor_socket(session, last_seq=last)
        frames = [await again.receive_json_from(timeout=3) for _ in range(3)]
        assert [f["body"] for f in frames] == ["away 0", "away 1", "away 2"]
        assert [f["seq"] for f in frames] == [last + 1, last + 2, last + 3]
        # And the layer works again: a new message arrives live, once.
        await database_sync_to_async(services.post_message)(
            session=session, by=agent, client_msg_id="after", body="after"
        )
        live = await again.receive_json_from(timeout=5)
        assert (live["body"], live["seq"]) == ("after", last + 4)
        assert await again.receive_nothing(timeout=0.3)
        await again.disconnect()

    async_to_sync(scenario)()


def test_a_redis_restart_closes_sockets_and_the_reconnect_replays_with_no_gap(tmp_path, settings):
    """A private redis-server (never the shared one) killed and started again on its port."""
    from tests.celery_worker import RedisServer

    server = RedisServer(tmp_path).start()
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "support.chat.layers.WatchedPubSubLayer",
            "CONFIG": {"hosts": [server.url], "prefix": "chat-restart"},
        }
    }
    channel_layers.backends.clear()
    widget, [agent] = chat_world()
    session, _ = start(widget)

    async def scenario():
        socket = await visitor_socket(session)
        last = (await socket.receive_json_from())["seq"]
        await database_sync_to_async(server.stop)()  # a crash: no goodbye to clients
        # Meanwhile the agent writes (the database is the record; the wake-ups are lost).
        for n in range(3):
            await database_sync_to_async(services.post_message)(
                session=session, by=agent, client_msg_id=f"down-{n}", body=f"down {n}"
            )
        await database_sync_to_async(server.start)()
        closed = await socket.receive_output(timeout=15)
        assert closed == {"type": "websocket.close", "code": 4002}
        again = await visitor_socket(session, last_seq=last)
        frames = [await again.receive_json_from(timeout=3) for _ in range(3)]
        assert [f["seq"] for f in frames] == [last + 1, last + 2, last + 3]
        assert [f["body"] for f in frames] == ["down 0", "down 1", "down 2"]
        await again.disconnect()

    try:
        async_to_sync(scenario)()
    finally:
        server.stop()
        channel_layers.backends.clear()
