"""Outages of Redis and of the database: the site answers, and answers quickly.

Redis down: the cache fails open (`core.cache`), a publish gives up within its bounds
(`CELERY_TASK_PUBLISH_RETRY_POLICY`, broker socket timeouts), writes commit and the outbox
delivers once Redis is back. Database down: 503 in the API's format or as the 503 page.

Requests against a dead dependency run in a subprocess with that dependency's URL pointing at a
closed port, so this run's own connections (and pytest-django's test database) stay untouched.
"""

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.core.cache import cache
from django.test import override_settings

from core import cache as fail_open
from core.api.authentication import create_token
from core.jobs import enqueue_on_commit
from core.models import OutboxMessage
from core.models.notifications import OutboxStatus
from core.notifications import dispatch
from core.roles import Role
from core.tasks import deliver_outbox_message, deliver_outbox_messages, sweep_outbox
from support.models import Ticket, TicketMessage
from tests.celery_worker import (
    ROOT,
    RedisServer,
    database_url,
    free_port,
    launch_worker,
    published_to,
    wait_for,
)
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def closed_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


@pytest.fixture
def silent_server():
    """A port that accepts connections and never says a word (a hung Redis)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for conn in accepted:
        conn.close()


@pytest.fixture(autouse=True)
def _forget_outages():
    fail_open._Outage.failed_at = fail_open._Outage.warned_at = float("-inf")
    yield
    fail_open._Outage.failed_at = fail_open._Outage.warned_at = float("-inf")


def run_requests(script: str, **env) -> dict:
    """Runs `script` (Django set up, test Client `client`) in a subprocess; returns its `out`."""
    prelude = (
        "import json, os, django\n"
        "django.setup()\n"
        "from django.test.utils import setup_test_environment\n"
        "setup_test_environment()\n"
        "from django.test import Client\n"
        "client = Client(raise_request_exception=False)\n"
        "out = {}\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", prelude + script + "\nprint('RESULT ' + json.dumps(out))\n"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"exit {result.returncode}\n{result.stdout}\n{result.stderr[-4000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


# --- the cache fails open -------------------------------------------------------------------


def dead_cache(port):
    return override_settings(
        CACHES={
            "default": {
                "BACKEND": "core.cache.FailOpenRedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/0",
                "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
            }
        }
    )


def test_a_cache_that_is_down_reads_as_empty_and_stores_nothing(caplog, silent_server):
    with dead_cache(closed_port()), caplog.at_level(logging.WARNING, logger="core.cache"):
        assert cache.get("k") is None
        assert cache.get("k", "fallback") == "fallback"
        cache.set("k", 1)
        assert cache.add("k", 0) is False
        assert cache.incr("k", 5) == 5  # a counter starts again: the request is allowed
        assert cache.decr("k", 5) == -5
        assert cache.get_many(["a", "b"]) == {}
        assert cache.get_or_set("k", lambda: "computed") == "computed"
        cache.delete("k")
    warnings = [r for r in caplog.records if r.name == "core.cache"]
    assert len(warnings) == 1, "one warning per period, not one per call"
    assert "Cache unavailable" in warnings[0].getMessage()

    # A Redis that accepts and never answers costs one socket timeout, then nothing for a while.
    fail_open._Outage.failed_at = float("-inf")
    with dead_cache(silent_server):
        started = time.monotonic()
        for _ in range(20):
            assert cache.get("k") is None
        assert time.monotonic() - started < 1.5


# --- publishing to a broker that is down ----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("broker", ["closed", "silent"])
def test_a_publish_to_a_broker_that_is_down_gives_up_quickly(
    broker, caplog, request, django_capture_on_commit_callbacks
):
    port = request.getfixturevalue("silent_server") if broker == "silent" else closed_port()
    with published_to(f"redis://127.0.0.1:{port}/0", sweep_outbox):
        with (
            caplog.at_level(logging.ERROR, logger="core.jobs"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            enqueue_on_commit(sweep_outbox)
            started = time.monotonic()  # the publish runs as the block "commits"
        elapsed = time.monotonic() - started
    assert "Could not enqueue core.tasks.sweep_outbox" in caplog.text
    # Closed: two refused connections 0.1 s apart. Silent: one 2 s socket timeout (retrying a
    # timeout is off). Kombu's defaults took 2.5 s for a closed port and never gave up on a
    # silent one.
    assert elapsed < (3.0 if broker == "silent" else 1.0), elapsed


# --- Redis down: every request answers, writes commit, the outbox delivers afterwards ---------

SITE_WITH_REDIS_DOWN = """
auth = {"HTTP_AUTHORIZATION": "Token " + os.environ["SD_TOKEN"]}
api = "/api/v1/support/tickets/"
created = client.post(api, {"subject": "Printer on fire", "description": "Smoke"},
                      content_type="application/json", HTTP_IDEMPOTENCY_KEY="outage-1", **auth)
out["create"] = created.status_code
ticket = created.json()["id"]
out["ticket"] = ticket
out["reply"] = client.post(f"{api}{ticket}/messages/", {"body": "Still smoking"},
                           content_type="application/json", **auth).status_code
out["list"] = client.get(api, **auth).status_code
out["sign_in_wrong"] = client.post("/accounts/login/", {"username": os.environ["SD_EMAIL"],
                                   "password": "wrong"}).status_code
out["sign_in"] = client.post("/accounts/login/", {"username": os.environ["SD_EMAIL"],
                             "password": os.environ["SD_PASSWORD"]}).status_code
out["help"] = client.get("/help/").status_code
out["readyz"] = client.get("/readyz").status_code
"""


@pytest.mark.worker
@pytest.mark.xdist_group("celery-worker")
@pytest.mark.django_db(transaction=True)
def test_with_redis_down_requests_answer_writes_commit_and_the_outbox_delivers_later(
    tmp_path, settings
):
    redis_server = RedisServer(tmp_path)  # not started yet: its port is closed
    customer = UserFactory(roles=[Role.CUSTOMER], password=PASSWORD)
    _, key = create_token(user=customer, name="outage")

    started = time.monotonic()
    out = run_requests(
        SITE_WITH_REDIS_DOWN,
        DATABASE_URL=database_url(),
        REDIS_URL=redis_server.url,
        SD_TOKEN=key,
        SD_EMAIL=customer.email,
        SD_PASSWORD=PASSWORD,
    )
    elapsed = time.monotonic() - started
    assert out["create"] == 201 and out["reply"] == 201, out
    assert out["list"] == 200 and out["help"] in (200, 302), out
    assert out["sign_in_wrong"] == 200 and out["sign_in"] == 302, out
    assert out["readyz"] == 503, out  # readiness tells the load balancer what is wrong
    assert elapsed < 30, elapsed

    ticket = Ticket.objects.get(pk=out["ticket"])
    assert TicketMessage.objects.filter(ticket=ticket, body_text__contains="Still smoking").exists()
    waiting = list(OutboxMessage.objects.filter(status=OutboxStatus.PENDING))
    assert waiting, "the ticket's notifications wait in the outbox"
    assert all(row.attempts == 0 for row in waiting)

    # Redis is back, a worker runs, the sweeper re-dispatches: every row is sent, once.
    redis_server.start()
    worker = launch_worker(
        tmp_path,
        settings_text=f"from {settings.SETTINGS_MODULE} import *  # noqa: F403\n",
        redis_url=redis_server.url,
    )
    try:
        settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
        with published_to(redis_server.url, deliver_outbox_message, deliver_outbox_messages):
            assert dispatch.sweep() == len(waiting)
        wait_for(
            lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
            30,
            lambda: f"every row sent; worker log:\n{worker.log()}",
        )
        assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}
    finally:
        worker.stop()
        redis_server.stop()


# --- the database is down: 503, in the format of the part of the site asked -----------------

# A signed-in visitor: the session (kept in the database) is read on every page.
SITE_WITH_DATABASE_DOWN = """
client.cookies["sessionid"] = "s" * 32
for name, path, extra in [
    ("api", "/api/v1/support/tickets/", {"HTTP_AUTHORIZATION": "Token x"}),
    ("api_session", "/api/v1/support/tickets/", {}),
    ("desk", "/desk/", {}),
    ("help", "/help/", {}),
    ("sign_in", "/accounts/login/", {}),
]:
    response = client.get(path, **extra)
    out[name] = {
        "status": response.status_code,
        "type": response.get("Content-Type", ""),
        "retry_after": response.get("Retry-After"),
        "body": response.content.decode()[:2000],
    }
"""


def test_with_the_database_down_pages_and_api_answer_503():
    out = run_requests(
        SITE_WITH_DATABASE_DOWN,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/nowhere",
    )
    for name in ("api", "api_session"):
        answer = out[name]
        assert answer["status"] == 503, answer
        assert answer["type"] == "application/json", answer
        assert json.loads(answer["body"]) == {
            "detail": "The service is briefly unavailable. Please try again shortly.",
            "code": "service_unavailable",
            "errors": {},
        }
        assert answer["retry_after"] == "30"
    for name in ("desk", "help", "sign_in"):
        answer = out[name]
        assert answer["status"] == 503, (name, answer)
        assert answer["type"].startswith("text/html"), answer
        assert "We are briefly unavailable" in answer["body"]
        assert "Traceback" not in answer["body"]
        assert answer["retry_after"] == "30"
