"""channels-redis's pub/sub layer, told when one of its Redis connections comes back.

The pub/sub layer reconnects to Redis by itself and subscribes again, but whatever was
published while it was away never arrives, and it tells nobody (the `on_disconnect` and
`on_reconnect` options of its README are stored but not called in 4.3). This layer passes a
connect hook to every connection: a connection that connects a second time has been away, so
every socket of the process is closed with 4002 and the clients reconnect and replay from their
last number (`realtime.close_all_sockets`). New connections (a bigger pool) are not reconnects.
"""

import asyncio
import weakref

from channels_redis.pubsub import RedisPubSubChannelLayer

_connected: "weakref.WeakSet" = weakref.WeakSet()


async def _on_connect(connection) -> None:
    await connection.on_connect()  # what redis-py does without a hook (handshake, AUTH, db)
    if connection in _connected:
        from . import realtime

        asyncio.ensure_future(realtime.close_all_sockets(4002))
    else:
        _connected.add(connection)


class WatchedPubSubLayer(RedisPubSubChannelLayer):
    def __init__(self, *args, hosts=None, **kwargs):
        hosts = [
            {"address": host, "redis_connect_func": _on_connect}
            if isinstance(host, str)
            else {**host, "redis_connect_func": _on_connect}
            for host in (hosts or ["redis://localhost:6379"])
        ]
        super().__init__(*args, hosts=hosts, **kwargs)
