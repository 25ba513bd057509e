import json

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import override_settings
from django.urls import include, path
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from core.api.authentication import create_token, digest
from core.api.exceptions import exception_handler
from core.api.idempotency import idempotent
from core.api.permissions import IsAuthenticatedUser
from core.errors import Conflict
from core.models import ApiToken, IdempotencyRecord, Notification
from core.roles import Role
from tests.concurrency import assert_outcomes, run_concurrently
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/auth/tokens/"
ME = "/api/v1/auth/me/"


def assert_error_shape(body):
    assert set(body) >= {"detail", "code", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["errors"], dict)


def token_client(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


# --- token auth ---------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_only_as_a_digest(api_client, agent):
    api_client.force_authenticate(agent)
    response = api_client.post(TOKENS, {"name": "CI", "password": "pw-for-tests-1"}, format="json")
    assert response.status_code == 201
    key = response.json()["key"]
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.key_digest == digest(key)
    assert key not in {token.key_digest, token.prefix}
    listed = api_client.get(TOKENS).json()["results"]
    assert listed[0]["id"] == token.pk and "key" not in listed[0]


def test_token_authenticates_its_user(agent):
    _, key = create_token(user=agent, name="script")
    response = token_client(key).get(ME)
    assert response.status_code == 200
    assert response.json()["email"] == agent.email
    assert "agent" in response.json()["roles"]


def test_authentication_loads_user_organisation_and_roles_in_one_query(
    customer, agent, admin_user, django_assert_num_queries
):
    """The hand-written token query must give what the ORM would: the same rows and roles."""
    from core.api.authentication import _token_with_user
    from core.roles import user_roles

    agent.groups.add(Group.objects.get(name=Role.SUPPORT_LEAD))
    for user, organization, roles in (
        (customer, customer.organization, {"customer"}),
        (agent, None, {"agent", "support_lead"}),
        (admin_user, None, {"admin"}),
    ):
        token, key = create_token(user=user, name="script")
        with django_assert_num_queries(1):
            found = _token_with_user(digest(key))
            assert found.pk == token.pk and found.user == user
            assert found.user.organization == organization
            assert user_roles(found.user) == roles
            assert found.created_at == token.created_at and found.revoked_at is None
        assert found.user.password == user.password  # every column, converted as the ORM does
    assert _token_with_user(digest("sdk_unknown")) is None


def test_bearer_keyword_is_accepted_too(agent):
    _, key = create_token(user=agent, name="script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get(ME).status_code == 200


@pytest.mark.parametrize("state", ["revoked", "expired", "unknown", "inactive_user"])
def test_unusable_tokens_are_refused_in_the_error_format(agent, state):
    token, key = create_token(user=agent, name="script")
    if state == "revoked":
        token.revoked_at = timezone.now()
        token.save()
    elif state == "expired":
        token.expires_at = timezone.now() - timezone.timedelta(seconds=1)
        token.save()
    elif state == "unknown":
        key = key[:-2] + "xx"
    else:
        agent.is_active = False
        agent.save()
    response = token_client(key).get(ME)
    assert response.status_code == 401
    assert_error_shape(response.json())
    assert response.json()["code"] == "authentication_failed"


def test_deleting_a_token_revokes_it(api_client, agent):
    token, key = create_token(user=agent, name="script")
    api_client.force_authenticate(agent)
    assert api_client.delete(f"{TOKENS}{token.pk}/").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token_client(key).get(ME).status_code == 401


def test_a_user_cannot_see_or_revoke_another_users_token(api_client, agent, lead):
    token, _ = create_token(user=lead, name="lead's")
    api_client.force_authenticate(agent)
    assert api_client.get(TOKENS).json()["results"] == []
    response = api_client.delete(f"{TOKENS}{token.pk}/")
    assert response.status_code == 404
    assert_error_shape(response.json())


# --- defaults and error format -------------------------------------------------------------


def test_anonymous_callers_are_refused(api_client):
    response = api_client.get(ME)
    assert response.status_code in (401, 403)
    assert_error_shape(response.json())
    assert response.json()["code"] == "not_authenticated"


def test_validation_errors_name_their_fields(api_client, agent):
    api_client.force_authenticate(agent)
    response = api_client.post(TOKENS, {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert_error_shape(body)
    assert body["code"] == "required"
    assert list(body["errors"]) == ["name"]


def test_model_validation_errors_use_the_same_format(api_client, agent):
    api_client.force_authenticate(agent)
    response = api_client.patch(ME, {"time_zone": "Mars/Olympus_Mons"}, format="json")
    assert response.status_code == 400
    assert_error_shape(response.json())
    assert "time_zone" in response.json()["errors"]
    agent.refresh_from_db()
    assert agent.time_zone == "UTC"


def test_domain_conflicts_carry_their_extra_members():
    response = exception_handler(
        Conflict(
            "Cannot go from closed to open.", code="invalid_transition", extra={"allowed": []}
        ),
        {},
    )
    assert response.status_code == 409
    assert response.data == {
        "detail": "Cannot go from closed to open.",
        "code": "invalid_transition",
        "errors": {},
        "allowed": [],
    }


def test_unknown_api_urls_404_in_the_error_format(api_client, agent):
    api_client.force_authenticate(agent)
    response = api_client.delete(f"{TOKENS}999999/")
    assert response.status_code == 404
    assert_error_shape(response.json())


def test_page_size_is_capped_and_a_larger_one_refused(api_client, agent):
    Notification.objects.bulk_create(
        Notification(recipient=agent, title=f"n{i}") for i in range(130)
    )
    api_client.force_authenticate(agent)
    body = api_client.get("/api/v1/notifications/?page_size=100").json()
    assert len(body["results"]) == 100
    assert body["count"] == 130
    refused = api_client.get("/api/v1/notifications/?page_size=1000")
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "page_size": ["A page size is a whole number from 1 to 100."]
    }


def test_throttling_answers_429_in_the_error_format(api_client, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/min", "user": None})
    from django.core.cache import cache

    cache.clear()
    schema, accept = "/api/v1/schema/", "application/vnd.oai.openapi+json"
    statuses = [api_client.get(schema, HTTP_ACCEPT=accept).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    body = json.loads(api_client.get(schema, HTTP_ACCEPT=accept).content)
    assert_error_shape(body)
    assert body["code"] == "throttled"


# --- idempotent creation -------------------------------------------------------------------
# Token creation is not idempotent (a replay would keep the clear key for a day): these tests use
# a small creating view of their own, served under IDEMPOTENT by this module's URLs.

IDEMPOTENT = "/api/v1/test-idempotent/"


class _CreateNotification(APIView):
    permission_classes = [IsAuthenticatedUser]

    @idempotent
    def post(self, request):
        title = request.data.get("title")
        if not title:
            raise ValidationError({"title": ["This field is required."]})
        notification = Notification.objects.create(recipient=request.user, title=title)
        return Response({"id": notification.pk, "title": title}, status=201)


urlpatterns = [
    path("api/v1/test-idempotent/", _CreateNotification.as_view()),
    path("", include("config.urls")),
]
idempotency_urls = pytest.mark.urls("tests.core.test_api")


@idempotency_urls
def test_a_retried_create_with_the_same_key_creates_once(api_client, agent):
    api_client.force_authenticate(agent)
    headers = {"HTTP_IDEMPOTENCY_KEY": "create-ci-1"}
    first = api_client.post(IDEMPOTENT, {"title": "CI"}, format="json", **headers)
    second = api_client.post(IDEMPOTENT, {"title": "CI"}, format="json", **headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Notification.objects.filter(recipient=agent).count() == 1


@idempotency_urls
def test_the_same_key_with_a_different_body_is_refused(api_client, agent):
    api_client.force_authenticate(agent)
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-2"}
    api_client.post(IDEMPOTENT, {"title": "CI"}, format="json", **headers)
    response = api_client.post(IDEMPOTENT, {"title": "Other"}, format="json", **headers)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Notification.objects.filter(recipient=agent).count() == 1


@idempotency_urls
def test_keys_are_per_user(api_client, agent, lead):
    for user in (agent, lead):
        api_client.force_authenticate(user)
        response = api_client.post(
            IDEMPOTENT, {"title": "CI"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
        )
        assert response.status_code == 201
    assert Notification.objects.count() == 2


@idempotency_urls
def test_a_failed_create_does_not_burn_the_key(api_client, agent):
    api_client.force_authenticate(agent)
    bad = api_client.post(IDEMPOTENT, {}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.exists()


@idempotency_urls
def test_malformed_keys_are_refused(api_client, agent):
    api_client.force_authenticate(agent)
    response = api_client.post(
        IDEMPOTENT, {"title": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="é" * 3
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not Notification.objects.exists()


@idempotency_urls
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_create_once():
    assert connection.vendor == "postgresql"
    user = UserFactory()

    def post():
        client = APIClient()
        client.force_authenticate(user)
        response = client.post(
            IDEMPOTENT, {"title": "CI"}, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
        )
        return response.status_code, response.json().get("id")

    results = assert_outcomes(run_concurrently(post, [()] * 6), succeeded=6)
    assert Notification.objects.filter(recipient=user).count() == 1
    assert {status for status, _ in results} == {201}
    assert len({notification_id for _, notification_id in results}) == 1


def test_token_creation_keeps_no_replayable_key(api_client, agent):
    """A token's key must never be stored in the clear, so its creation ignores the header."""
    api_client.force_authenticate(agent)
    body = {"name": "CI", "password": "pw-for-tests-1"}
    first = api_client.post(TOKENS, body, format="json", HTTP_IDEMPOTENCY_KEY="tok-1")
    second = api_client.post(TOKENS, body, format="json", HTTP_IDEMPOTENCY_KEY="tok-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["key"] != second.json()["key"]
    assert not IdempotencyRecord.objects.exists()


# --- schema and docs -----------------------------------------------------------------------


def test_schema_documents_the_endpoints_and_the_idempotency_header(api_client):
    response = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/auth/tokens/" in schema["paths"]
    params = schema["paths"]["/api/v1/support/tickets/"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in params)
    assert "tokenAuth" in schema["components"]["securitySchemes"]


@override_settings(DEBUG=False)
def test_docs_page_uses_vendored_assets_only(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "jsdelivr" not in html and "unpkg" not in html
