"""A Redis cache that fails open: with Redis unreachable, the site works without its cache.

Everything we keep in the cache can be lost without harm: throttle and rate-limit counters, the
upload quota's count, cursors of sweeps. So when Redis does not answer, a read is a miss, a write
stores nothing and a counter starts again from zero; DRF throttles and django-ratelimit then let
the request through. A warning is logged at most once per `WARN_EVERY_SECONDS` per process.

After a failure the backend does not call Redis again for `RETRY_AFTER_SECONDS`: a request that
touches the cache five times pays for one failed connection, not five, and a Redis that accepts
connections but never answers costs one socket timeout per process and period, not one per call.
Sessions are not kept here (they live in the database), so nobody is signed out by an outage.
"""

import logging
import threading
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5.0
WARN_EVERY_SECONDS = 60.0
# OSError: a socket error redis-py did not wrap; ValueError is not caught (a missing counter).
FAILURES = (RedisError, OSError)


class _Outage:
    """When Redis last failed, shared by every cache of the process (they share one server)."""

    lock = threading.Lock()
    failed_at = float("-inf")
    warned_at = float("-inf")

    @classmethod
    def down(cls) -> bool:
        return time.monotonic() - cls.failed_at < RETRY_AFTER_SECONDS

    @classmethod
    def record(cls, operation: str, exc: Exception) -> None:
        now = time.monotonic()
        with cls.lock:
            cls.failed_at = now
            warn = now - cls.warned_at >= WARN_EVERY_SECONDS
            if warn:
                cls.warned_at = now
        if warn:
            logger.warning(
                "Cache unavailable (%s: %s: %s); serving without it for now",
                operation,
                type(exc).__name__,
                exc,
            )


def _fail_open(operation, fallback):
    def method(self, *args, **kwargs):
        if _Outage.down():
            return fallback(*args, **kwargs)
        try:
            return getattr(super(FailOpenRedisCache, self), operation)(*args, **kwargs)
        except FAILURES as exc:
            _Outage.record(operation, exc)
            return fallback(*args, **kwargs)

    method.__name__ = operation
    method.__doc__ = f"`RedisCache.{operation}`, or the fail-open answer when Redis is down."
    return method


def _default(key, default=None, version=None):
    return default


def _counter(key, delta=1, version=None):
    # As if the counter had just been created: the first request of a window, allowed.
    return delta


def _negative_counter(key, delta=1, version=None):
    return -delta


def _none(*args, **kwargs):
    return None


def _false(*args, **kwargs):
    return False


def _empty(*args, **kwargs):
    return {}


def _nothing_stored(data, *args, **kwargs):
    return list(data)  # set_many returns the keys that could not be stored


class FailOpenRedisCache(RedisCache):
    """Django's `RedisCache`; while Redis is down, an empty cache that stores nothing."""

    get = _fail_open("get", _default)
    get_many = _fail_open("get_many", _empty)
    has_key = _fail_open("has_key", _false)
    set = _fail_open("set", _none)
    add = _fail_open("add", _false)
    touch = _fail_open("touch", _false)
    set_many = _fail_open("set_many", _nothing_stored)
    delete = _fail_open("delete", _false)
    delete_many = _fail_open("delete_many", _none)
    incr = _fail_open("incr", _counter)
    decr = _fail_open("decr", _negative_counter)
    clear = _fail_open("clear", _false)
