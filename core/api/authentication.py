"""Per-user API tokens: `Authorization: Token <key>` (or `Bearer <key>`), stored as SHA-256."""

import functools
import hashlib
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from core.errors import DomainError, NotAllowed
from core.internals.rows import ModelColumns
from core.models import ApiToken, Organization, User

TOKEN_PREFIX = "sdk_"
# The session key holding when (Unix time) the session's user last typed their password.
SIGNED_IN_AT = "core.signed_in_at"
# Writing last_used_at on every request would turn each read into a write; once a minute is enough.
LAST_USED_RESOLUTION_SECONDS = 60


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def mark_signed_in(request) -> None:
    """Note in the session when its user proved their password (the sign-in form calls this)."""
    request.session[SIGNED_IN_AT] = int(time.time())


def signed_in_recently(request) -> bool:
    session = getattr(request, "session", None)
    signed_in_at = session.get(SIGNED_IN_AT) if session is not None else None
    if not isinstance(signed_in_at, int):
        return False
    return 0 <= time.time() - signed_in_at <= settings.TOKEN_CREATE_RECENT_LOGIN_SECONDS


def check_may_create_token(*, request, password: str | None) -> None:
    """Creating a token asks for proof that the person is there, not just their credentials.

    A request authenticated by an API token may never create one (a leaked token must not be
    able to mint others that outlive its revocation). A session must give the password again
    unless it signed in within `TOKEN_CREATE_RECENT_LOGIN_SECONDS`. Raises, changing nothing.
    """
    if isinstance(getattr(request, "auth", None), ApiToken):
        raise NotAllowed(
            "An API token cannot create API tokens. Sign in and create it from your "
            "API tokens page, or with your password over a signed-in session.",
            code="token_cannot_create_tokens",
        )
    if password:
        if not request.user.check_password(password):
            raise DomainError(
                "The password is not right.",
                code="wrong_password",
                errors={"password": ["The password is not right."]},
            )
        return
    if not signed_in_recently(request):
        raise DomainError(
            "Give your password again to create an API token.",
            code="password_required",
            errors={"password": ["Give your password again to create an API token."]},
        )


def token_expiry(*, expires_at=None, expires_in_days: int | None = None):
    """When a new token expires: as asked, never later than `API_TOKEN_MAX_LIFETIME_DAYS`.

    Without either a token gets the longest lifetime; a time in the past, both at once or a
    lifetime over the maximum is refused (Django `ValidationError`, by field).
    """
    now = timezone.now()
    longest = settings.API_TOKEN_MAX_LIFETIME_DAYS
    if expires_at is not None and expires_in_days is not None:
        raise ValidationError({"expires_in_days": "Give expires_at or expires_in_days, not both."})
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= longest:
            raise ValidationError({"expires_in_days": f"Choose between 1 and {longest} days."})
        return now + timedelta(days=expires_in_days)
    if expires_at is None:
        return now + timedelta(days=longest)
    if expires_at <= now:
        raise ValidationError({"expires_at": "Choose a time in the future."})
    if expires_at > now + timedelta(days=longest):
        raise ValidationError({"expires_at": f"A token lives at most {longest} days."})
    return expires_at


def create_token(*, user, name: str, expires_at=None) -> tuple[ApiToken, str]:
    """A new token for `user`. The clear key is returned once and never stored.

    Callers acting for a person check `check_may_create_token` and `token_expiry` first.
    """
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
