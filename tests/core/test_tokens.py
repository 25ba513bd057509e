"""API tokens: who may create them (password again, never a token), expiry, last use, the page."""

import re
import time

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from core.api.authentication import SIGNED_IN_AT, create_token, digest
from core.models import ApiToken

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

TOKENS = "/api/v1/auth/tokens/"
ME = "/api/v1/auth/me/"
PAGE = "/account/api-tokens/"
PASSWORD = "pw-for-tests-1"


def session_client(user):
    client = APIClient()
    client.force_login(user)  # a session, but not a sign-in with the password just now
    return client


def token_client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"detail", "code", "errors"} and body["code"] == code
    return body


# --- creating through the API ----------------------------------------------------------------


def test_creating_a_token_needs_the_password(agent):
    client = session_client(agent)
    body = assert_error(
        client.post(TOKENS, {"name": "CI"}, format="json"), 400, "password_required"
    )
    assert "password" in body["errors"]
    body = assert_error(
        client.post(TOKENS, {"name": "CI", "password": "wrong"}, format="json"),
        400,
        "wrong_password",
    )
    assert "password" in body["errors"]
    assert not ApiToken.objects.exists()


def test_with_the_password_the_key_is_shown_once_and_never_again(agent):
    client = session_client(agent)
    response = client.post(TOKENS, {"name": "CI", "password": PASSWORD}, format="json")
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    created = response.json()
    token = ApiToken.objects.get(pk=created["id"])
    assert token.key_digest == digest(created["key"]) and "password" not in created
    listed = client.get(TOKENS).json()["results"]
    assert set(listed[0]) == {
        "id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"
    }  # fmt: skip
    assert created["key"] not in str(listed) and token.key_digest not in str(listed)


def test_a_recent_sign_in_counts_as_the_password(client, agent, settings):
    client.post("/accounts/login/", {"username": agent.email, "password": PASSWORD})
    response = client.post(TOKENS, {"name": "CLI"}, content_type="application/json")
    assert response.status_code == 201
    # Once the sign-in is older than the setting, the password is asked for again.
    session = client.session
    session[SIGNED_IN_AT] = int(time.time()) - settings.TOKEN_CREATE_RECENT_LOGIN_SECONDS - 1
    session.save()
    response = client.post(TOKENS, {"name": "CLI 2"}, content_type="application/json")
    assert_error(response, 400, "password_required")
    assert ApiToken.objects.filter(user=agent).count() == 1


@pytest.mark.parametrize("role", ["agent", "customer"])
def test_a_token_cannot_mint_tokens(request, role):
    user = request.getfixturevalue(role)
    _, key = create_token(user=user, name="script")
    response = token_client(key).post(
        TOKENS, {"name": "child", "password": PASSWORD}, format="json"
    )
    body = assert_error(response, 403, "token_cannot_create_tokens")
    assert "cannot create API tokens" in body["detail"]
    assert ApiToken.objects.filter(user=user).count() == 1
    # It may still list and revoke its owner's tokens.
    assert token_client(key).get(TOKENS).status_code == 200


def test_customers_create_tokens_too(customer):
    response = session_client(customer).post(
        TOKENS, {"name": "my tickets", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201


# --- expiry and last use ---------------------------------------------------------------------


@override_settings(API_TOKEN_MAX_LIFETIME_DAYS=30)
def test_expiry_is_asked_for_or_the_longest_and_never_beyond_it(agent):
    client = session_client(agent)

    def create(**fields):
        return client.post(TOKENS, {"name": "t", "password": PASSWORD, **fields}, format="json")

    now = timezone.now()
    default = ApiToken.objects.get(pk=create().json()["id"])
    assert abs((default.expires_at - now).days - 30) <= 1
    in_days = ApiToken.objects.get(pk=create(expires_in_days=7).json()["id"])
    assert abs((in_days.expires_at - now).total_seconds() - 7 * 86400) < 60
    at = (now + timezone.timedelta(days=3)).replace(microsecond=0)
    assert ApiToken.objects.get(pk=create(expires_at=at.isoformat()).json()["id"]).expires_at == at
    count = ApiToken.objects.count()
    for bad in (
        {"expires_in_days": 31},
        {"expires_in_days": 0},
        {"expires_at": (now + timezone.timedelta(days=31)).isoformat()},
        {"expires_at": (now - timezone.timedelta(minutes=1)).isoformat()},
        {"expires_at": at.isoformat(), "expires_in_days": 2},
    ):
        body = assert_error(create(**bad), 400, "invalid")
        assert body["errors"], bad
    assert ApiToken.objects.count() == count


def test_an_expired_token_no_longer_authenticates(agent):
    token, key = create_token(user=agent, name="short", expires_at=timezone.now())
    assert token_client(key).get(ME).status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() + timezone.timedelta(hours=1)
    )
    assert token_client(key).get(ME).status_code == 200


def test_last_use_is_shown(agent):
    token, key = create_token(user=agent, name="used")
    assert token_client(key).get(ME).status_code == 200
    listed = session_client(agent).get(TOKENS).json()["results"]
    assert listed[0]["last_used_at"] is not None
    page = session_client(agent).get(PAGE).content.decode()
    assert page.count("<time datetime=") == 2  # created and last used (no expiry: "never")


# --- limits ------------------------------------------------------------------------------------


@override_settings(TOKEN_CREATE_LIMIT_PER_USER="2/h", TOKEN_CREATE_LIMIT_PER_ADDRESS="100/h")
def test_token_creation_is_limited_per_user_in_the_error_format(agent):
    client = session_client(agent)
    for n in range(2):
        response = client.post(
            TOKENS, {"name": f"t{n}", "password": PASSWORD}, format="json",
            REMOTE_ADDR=f"192.0.2.{n}",
        )  # fmt: skip
        assert response.status_code == 201
    response = client.post(TOKENS, {"name": "t3", "password": PASSWORD}, format="json")
    assert_error(response, 429, "throttled")
    assert ApiToken.objects.count() == 2


@override_settings(TOKEN_CREATE_LIMIT_PER_USER="100/h", TOKEN_CREATE_LIMIT_PER_ADDRESS="2/h")
def test_token_creation_is_limited_per_address_also_on_the_page(client, agent, lead):
    # Wrong passwords count too: the limit also bounds guessing through this form.
    client.force_login(agent)
    for _ in range(2):
        assert client.post(PAGE, {"name": "x", "password": "guess"}).status_code == 400
    client.force_login(lead)
    response = client.post(PAGE, {"name": "x", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many API tokens created" in response.content.decode()
    assert not ApiToken.objects.exists()


# --- the page ----------------------------------------------------------------------------------


def test_the_page_lists_only_ones_own_tokens(client, agent, lead):
    create_token(user=agent, name="mine-ci")
    create_token(user=lead, name="leads-secret-script")
    client.force_login(agent)
    response = client.get(PAGE)
    html = response.content.decode()
    assert response.status_code == 200
    assert "mine-ci" in html and "leads-secret-script" not in html
    # Server-rendered, nothing inline to run.
    assert not re.search(r"<script(?![^>]*\ssrc=)", html)
    assert not re.search(r"\son[a-z]+=", html)


@pytest.mark.parametrize("role", ["agent", "customer"])
def test_the_page_is_in_the_menu_of_both_areas(client, request, role):
    user = request.getfixturevalue(role)
    client.force_login(user)
    home = client.get("/", follow=True)
    assert f'href="{PAGE}"' in home.content.decode()


def test_creating_on_the_page_asks_for_the_password_and_shows_the_key_once(client, agent):
    client.force_login(agent)
    response = client.post(PAGE, {"name": "laptop", "password": "wrong"})
    assert response.status_code == 400
    assert "The password is not right." in response.content.decode()
    assert not ApiToken.objects.exists()

    response = client.post(PAGE, {"name": "laptop", "password": PASSWORD, "expires_in_days": "10"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = re.search(r'value="(sdk_[^"]+)"', response.content.decode()).group(1)
    token = ApiToken.objects.get(user=agent)
    assert token.key_digest == digest(key) and token.name == "laptop"
    assert abs((token.expires_at - timezone.now()).days - 10) <= 1
    assert key not in client.get(PAGE).content.decode()


def test_the_page_refuses_a_lifetime_over_the_maximum(client, agent, settings):
    client.force_login(agent)
    too_long = settings.API_TOKEN_MAX_LIFETIME_DAYS + 1
    response = client.post(PAGE, {"name": "x", "password": PASSWORD, "expires_in_days": too_long})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_revoking_on_the_page(client, agent):
    token, key = create_token(user=agent, name="old")
    client.force_login(agent)
    assert client.get(f"{PAGE}{token.pk}/revoke/").status_code == 405
    response = client.post(f"{PAGE}{token.pk}/revoke/", follow=True)
    assert response.status_code == 200 and "was revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_client(key).get(ME).status_code == 401


def test_another_persons_token_is_a_404_and_stays(client, agent, lead):
    token, key = create_token(user=lead, name="lead's")
    client.force_login(agent)
    assert client.post(f"{PAGE}{token.pk}/revoke/").status_code == 404
    assert client.post(f"{PAGE}999999/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_page_needs_a_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
