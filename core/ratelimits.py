"""Limits on sign-in, password reset and token creation, counted by django-ratelimit.

Each guarded action counts every attempt against two limits, one per account (the e-mail
address submitted, lower-cased, or the signed-in user) and one per client address
(`core.clients.client_address`, through `RATELIMIT_IP_META_KEY`), in fixed windows kept in the
default cache. The rates are settings read at each call. If the cache cannot be reached the
limits are skipped with a warning (`RATELIMIT_FAIL_OPEN`): an outage of Redis must not stop
everybody from signing in.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django_ratelimit.core import is_ratelimited

from core.clients import client_address

logger = logging.getLogger(__name__)


def _submitted_email(field: str):
    def key(group, request) -> str:
        return request.POST.get(field, "").strip().lower()

    return key


def _user(group, request) -> str:
    return str(request.user.pk)


@dataclass(frozen=True)
class Limit:
    group: str
    key: object  # a django-ratelimit key: "ip", or a callable (group, request) -> str
    setting: str  # the name of the setting holding the rate

    def rate(self, group, request) -> str:
        return getattr(settings, self.setting)


SIGN_IN = (
    Limit("sign-in:account", _submitted_email("username"), "SIGN_IN_LIMIT_PER_ACCOUNT"),
    Limit("sign-in:address", "ip", "SIGN_IN_LIMIT_PER_ADDRESS"),
)
PASSWORD_RESET = (
    Limit("password-reset:account", _submitted_email("email"), "PASSWORD_RESET_LIMIT_PER_ACCOUNT"),
    Limit("password-reset:address", "ip", "PASSWORD_RESET_LIMIT_PER_ADDRESS"),
)
SIGN_UP = (
    Limit("sign-up:account", _submitted_email("email"), "SIGN_UP_LIMIT_PER_ACCOUNT"),
    Limit("sign-up:address", "ip", "SIGN_UP_LIMIT_PER_ADDRESS"),
)
# Anything an anonymous visitor sends us: the contact form and requests for a new access link.
CONTACT = (
    Limit("contact:account", _submitted_email("email"), "CONTACT_LIMIT_PER_ACCOUNT"),
    Limit("contact:address", "ip", "CONTACT_LIMIT_PER_ADDRESS"),
)
TOKEN_CREATE = (
    Limit("token-create:user", _user, "TOKEN_CREATE_LIMIT_PER_USER"),
    Limit("token-create:address", "ip", "TOKEN_CREATE_LIMIT_PER_ADDRESS"),
)


def _over(request, limit: Limit) -> bool:
    try:
        return is_ratelimited(
            request, group=limit.group, key=limit.key, rate=limit.rate, increment=True
        )
    except Exception as exc:  # the cache backend's own errors (redis, memcached, sockets)
        if not settings.RATELIMIT_FAIL_OPEN:
            raise
        logger.warning(
            "Rate limit %s not checked, the cache is unreachable (%s); letting %s through.",
            limit.group,
            exc.__class__.__name__,
            client_address(request),
        )
        return False


def exceeded(request, limits) -> bool:
    """Count this attempt against every limit; True when any of them is over its rate.

    Every limit is counted even when an earlier one is over, so an address hammering one
    account is still counted against its own limit.
    """
    over = [_over(request, limit) for limit in limits]
    return any(over)
