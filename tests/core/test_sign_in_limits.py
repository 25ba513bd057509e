"""Sign-in and password reset are limited per account and per client address (django-ratelimit)."""

import logging

import pytest
import redis
from django.test import override_settings

from core.models import OutboxMessage
from core.ratelimits import SIGN_IN, exceeded

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

LOGIN = "/accounts/login/"
RESET = "/accounts/password-reset/"
PASSWORD = "pw-for-tests-1"
LIMIT_MESSAGE = "Too many sign-in attempts"


def sign_in(client, email, password="wrong", **meta):
    return client.post(LOGIN, {"username": email, "password": password}, **meta)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@override_settings(SIGN_IN_LIMIT_PER_ADDRESS="3/5m", SIGN_IN_LIMIT_PER_ACCOUNT="100/5m")
def test_rotating_forwarded_for_does_not_reset_the_address_limit(client, agent):
    # No trusted proxy (the default): X-Forwarded-For is the client's own writing.
    for n in range(3):
        response = sign_in(client, f"guess{n}@example.com", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
        assert response.status_code == 200
    response = sign_in(client, agent.email, PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429
    assert LIMIT_MESSAGE in response.content.decode()
    assert not signed_in(client)  # even the right password does nothing while limited


@override_settings(
    TRUSTED_PROXY_COUNT=1, SIGN_IN_LIMIT_PER_ADDRESS="2/5m", SIGN_IN_LIMIT_PER_ACCOUNT="100/5m"
)
def test_behind_one_proxy_the_right_most_forwarded_entry_is_the_client(client):
    def attempt(forwarded):
        return sign_in(client, "x@example.com", HTTP_X_FORWARDED_FOR=forwarded).status_code

    # What the client writes in front of the proxy's entry changes nothing.
    assert [attempt(f"6.6.6.{n}, 198.51.100.7") for n in range(3)] == [200, 200, 429]
    # Another client behind the same proxy has its own budget.
    assert attempt("198.51.100.8") == 200


@override_settings(SIGN_IN_LIMIT_PER_ACCOUNT="2/5m", SIGN_IN_LIMIT_PER_ADDRESS="100/5m")
def test_the_account_limit_holds_across_addresses_and_spellings(client, agent):
    assert sign_in(client, agent.email, REMOTE_ADDR="192.0.2.1").status_code == 200
    assert sign_in(client, agent.email.upper(), REMOTE_ADDR="192.0.2.2").status_code == 200
    response = sign_in(client, f" {agent.email} ", PASSWORD, REMOTE_ADDR="192.0.2.3")
    assert response.status_code == 429
    assert not signed_in(client)
    # Another account is not held back by it.
    assert sign_in(client, "other@example.com", REMOTE_ADDR="192.0.2.3").status_code == 200


@override_settings(SIGN_IN_LIMIT_PER_ACCOUNT="1/5m")
def test_a_limited_person_signs_in_once_the_window_has_passed(client, agent, monkeypatch):
    import django_ratelimit.core as ratelimit_core

    sign_in(client, agent.email)
    assert sign_in(client, agent.email, PASSWORD).status_code == 429
    now = ratelimit_core.time.time()
    monkeypatch.setattr(ratelimit_core.time, "time", lambda: now + 5 * 60 + 1)
    response = sign_in(client, agent.email, PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_signing_in_within_the_limits_works(client, agent):
    response = sign_in(client, agent.email, PASSWORD)
    assert response.status_code == 302 and signed_in(client)


@override_settings(PASSWORD_RESET_LIMIT_PER_ACCOUNT="2/h", PASSWORD_RESET_LIMIT_PER_ADDRESS="100/h")
def test_password_reset_is_limited_per_address_asked_for(client, customer):
    for n in range(2):
        response = client.post(RESET, {"email": customer.email}, REMOTE_ADDR=f"192.0.2.{n}")
        assert response.status_code == 302
    sent = OutboxMessage.objects.count()
    response = client.post(RESET, {"email": customer.email.upper()}, REMOTE_ADDR="192.0.2.9")
    assert response.status_code == 429
    assert "Too many password reset requests" in response.content.decode()
    assert OutboxMessage.objects.count() == sent  # nothing sent
    # An unknown address is limited the same way, so the answer reveals no account.
    for _ in range(2):
        client.post(RESET, {"email": "nobody@example.com"})
    assert client.post(RESET, {"email": "nobody@example.com"}).status_code == 429


@override_settings(PASSWORD_RESET_LIMIT_PER_ACCOUNT="100/h", PASSWORD_RESET_LIMIT_PER_ADDRESS="2/h")
def test_password_reset_is_limited_per_client_address(client):
    statuses = [
        client.post(
            RESET, {"email": f"p{n}@example.com"}, HTTP_X_FORWARDED_FOR=f"10.1.1.{n}"
        ).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]


DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.5},
    }
}


def test_a_cache_outage_lets_sign_in_through_with_a_warning(client, agent, caplog):
    with override_settings(CACHES=DEAD_REDIS), caplog.at_level(logging.WARNING, "core.ratelimits"):
        response = sign_in(client, agent.email, PASSWORD)
        assert response.status_code == 302 and signed_in(client)
    assert any("cache is unreachable" in r.getMessage() for r in caplog.records)


def test_fail_closed_when_told_to(rf):
    request = rf.post(LOGIN, {"username": "a@example.com"})
    with (
        override_settings(CACHES=DEAD_REDIS, RATELIMIT_FAIL_OPEN=False),
        pytest.raises(redis.exceptions.ConnectionError),
    ):
        exceeded(request, SIGN_IN)


def test_the_admin_has_no_sign_in_form_of_its_own(client, admin_user):
    """Passwords are only ever tried on the limited sign-in page."""
    response = client.post(
        "/admin/login/?next=/admin/", {"username": admin_user.email, "password": "anything"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
