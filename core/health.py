"""Readiness checks: each dependency answers within a short timeout or is named as failing."""

import ipaddress
import logging
import uuid

from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)
BROKER_TIMEOUT_SECONDS = 2


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    probe = f"readyz:{uuid.uuid4().hex}"
    cache.set(probe, "1", timeout=10)
    if cache.get(probe) != "1":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(probe)


def check_broker() -> None:
    from celery import current_app  # the project's app, set up by config.celery at start-up

    with current_app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)


CHECKS = {"database": check_database, "cache": check_cache, "broker": check_broker}


def readiness() -> dict[str, str]:
    """`{"database": "ok", "cache": "ok", "broker": "error: ..."}` for every dependency."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", reported by name
            logger.warning("readiness check %s failed: %s", name, exc)
            results[name] = f"error: {exc.__class__.__name__}: {exc}"[:300]
        else:
            results[name] = "ok"
    return results


# Set by a proxy in front of us: a request it relayed is not a local caller, even though the
# proxy itself connects from the loopback address, unless our trusted proxies name the client.
_FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def may_see_details(request) -> bool:
    """Staff, or a process on this machine (orchestrator, operator) asking the app directly."""
    from core.clients import client_address
    from core.roles import is_staff_member

    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and is_staff_member(user):
        return True
    address = client_address(request)
    relayed = address == request.META.get("REMOTE_ADDR") and any(
        request.META.get(header) for header in _FORWARDING_HEADERS
    )
    try:
        return not relayed and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
