import logging

import pytest
from celery import signals

from config.celery import app
from core.observability import RequestIdFilter, request_id_var

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_dependencies(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_cache_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}


def test_readyz_names_the_broker_when_it_is_unreachable(client, monkeypatch):
    # The readiness check reads through the read URL; patch only that (patching broker_url too
    # would make monkeypatch "restore" the read URL to the dead address it falls back to).
    monkeypatch.setattr(app.conf, "broker_read_url", "redis://127.0.0.1:1/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"] == "ok"


def test_readyz_names_the_cache_when_it_is_unreachable(client, monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    from core import health

    unreachable = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 1}})
    monkeypatch.setattr(health, "cache", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["cache"]


def test_every_response_carries_a_request_id(client):
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-abc.123")["X-Request-ID"] == "lb-abc.123"
    # Anything that could forge log lines is replaced.
    assert client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"] != "bad id\n"


def test_log_records_carry_the_request_id():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    token = request_id_var.set("req-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    assert record.request_id == "req-42"


def test_tasks_inherit_the_request_id_of_their_publisher():
    headers = {}
    token = request_id_var.set("req-77")
    try:
        signals.before_task_publish.send(sender="core.tasks.sweep_outbox", headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers["request_id"] == "req-77"

    class FakeTask:
        class request:  # noqa: N801 - mimics celery's task.request
            id = "task-id"
            request_id = "req-77"

    signals.task_prerun.send(sender=FakeTask, task=FakeTask, task_id="task-id")
    assert request_id_var.get() == "req-77"
    request_id_var.set("-")
