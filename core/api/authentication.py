"""Per-user API tokens: `Authorization: Token <key>` (or `Bearer <key>`), stored as SHA-256."""

import functools
import hashlib
import secrets

from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from core.internals.rows import ModelColumns
from core.models import ApiToken, Organization, User

TOKEN_PREFIX = "sdk_"
# Writing last_used_at on every request would turn each read into a write; once a minute is enough.
LAST_USED_RESOLUTION_SECONDS = 60


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_token(*, user, name: str, expires_at=None) -> tuple[ApiToken, str]:
    """A new token for `user`. The clear key is returned once and never stored."""
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 bits of randomness
    token = ApiToken.objects.create(
        user=user, name=name, prefix=key[:12], key_digest=digest(key), expires_at=expires_at
    )
    return token, key


def revoke_token(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


@functools.cache
def _token_query() -> tuple[str, ModelColumns, ModelColumns, ModelColumns]:
    token, user, organization = (
        ModelColumns(ApiToken, "t"),
        ModelColumns(User, "u"),
        ModelColumns(Organization, "o"),
    )
    quote = connection.ops.quote_name
    memberships = User.groups.through._meta
    sql = (
        f"SELECT {token.sql}, {user.sql}, {organization.sql}, "
        f"ARRAY(SELECT g.{quote('name')} FROM {quote(memberships.db_table)} m "
        f"JOIN {quote(Group._meta.db_table)} g ON g.{quote('id')} = m.{quote('group_id')} "
        f"WHERE m.{quote('user_id')} = u.{quote('id')}) "
        f"FROM {quote(ApiToken._meta.db_table)} t "
        f"JOIN {quote(User._meta.db_table)} u ON u.{quote('id')} = t.{quote('user_id')} "
        f"LEFT JOIN {quote(Organization._meta.db_table)} o "
        f"ON o.{quote('id')} = u.{quote('organization_id')} "
        f"WHERE t.{quote('key_digest')} = %s"
    )
    return sql, token, user, organization


def _token_with_user(key_digest: str) -> ApiToken | None:
    """The token, its user, the user's organisation and (on PostgreSQL) role names: one query.

    Every API request authenticates, and almost every one then asks for the caller's roles. On
    PostgreSQL the query is written by hand: composed by the ORM (a join with an aggregate) it
    cost about a millisecond of Python per request.
    """
    if connection.vendor != "postgresql":
        return (
            ApiToken.objects.select_related("user", "user__organization")
            .filter(key_digest=key_digest)
            .first()
        )
    sql, token_columns, user_columns, organization_columns = _token_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [key_digest])
        row = cursor.fetchone()
    if row is None:
        return None
    user_start = len(token_columns)
    organization_start = user_start + len(user_columns)
    roles_at = organization_start + len(organization_columns)
    token = token_columns.load(row[:user_start])
    user = user_columns.load(row[user_start:organization_start])
    user.organization = organization_columns.load(row[organization_start:roles_at])
    token.user = user
    user._role_names = frozenset(row[roles_at])
    if user.is_superuser:
        user._role_names |= {"admin"}
    return token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="ignore").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            key = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed token.") from exc
        token = _token_with_user(digest(key))
        if token is None or not token.is_usable or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        now = timezone.now()
        if (
            token.last_used_at is None
            or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
        ):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Token realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`; create keys at /api/v1/auth/tokens/.",
        }
