"""/readyz tells which part fails only to staff and to callers on this machine."""

import pytest

from config.celery import app

pytestmark = pytest.mark.django_db

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture
def broker_down(monkeypatch):
    monkeypatch.setattr(app.conf, "broker_read_url", "redis://127.0.0.1:1/0")


def test_a_remote_anonymous_caller_learns_only_that_it_is_down(client, broker_down):
    response = client.get("/readyz", **REMOTE)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert "broker" not in response.content.decode()


def test_a_remote_customer_learns_no_more(client, customer, broker_down):
    client.force_login(customer)
    assert client.get("/readyz", **REMOTE).json() == {"status": "unavailable"}


def test_a_relayed_request_is_not_local_even_from_a_local_proxy(client, broker_down):
    response = client.get("/readyz", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.json() == {"status": "unavailable"}


def test_a_forged_forwarded_header_does_not_make_a_remote_caller_local(
    client, broker_down, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    # Our proxy appends the real peer; whatever the client wrote before it is not read.
    response = client.get(
        "/readyz", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.9"
    )
    assert response.json() == {"status": "unavailable"}


def test_staff_anywhere_see_the_failing_part(client, agent, broker_down):
    client.force_login(agent)
    body = client.get("/readyz", **REMOTE).json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["database"] == "ok"


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_a_caller_on_this_machine_sees_the_failing_part(client, broker_down, address):
    body = client.get("/readyz", REMOTE_ADDR=address).json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["broker"]


def test_a_healthy_answer_is_just_ok_for_remote_callers(client):
    response = client.get("/readyz", **REMOTE)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
