"""Customers sign up on the help center and confirm their address by e-mail.

An account is created inactive and `signup_pending`; the e-mailed link (signed, expiring after
`SIGN_UP_CONFIRM_HOURS`) activates it once. Signing up never tells anyone whether an address
already has an account: an existing active account gets an e-mail saying so instead.
A deactivated account is never reactivated by signing up again (it is not pending).
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core import signing
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import User
from .notifications.services import notify_email
from .roles import Role
from .signals import password_in_use

_SALT = "core.sign-up"


def _confirmation_token(user: User) -> str:
    return signing.TimestampSigner(salt=_SALT).sign_object({"user": user.pk, "email": user.email})


def _send(user: User, *, template: str, subject: str, key: str, context: dict) -> None:
    context = {"user": user, "site_url": settings.SITE_URL, **context}
    notify_email(
        key=key,
        to=user.email,
        subject=subject,
        body=render_to_string(f"core/email/{template}.txt", context),
        html_body=render_to_string(f"core/email/{template}.html", context),
        user=user,
    )


@transaction.atomic
def sign_up(*, email: str, full_name: str, password: str) -> None:
    """Create (or refresh) a pending account and e-mail its confirmation link."""
    email = User.objects.normalize_email(email.strip()).lower()
    hour = timezone.now().strftime("%Y%m%d%H")
    existing = User.objects.with_email(email).select_for_update().first()
    if existing is not None and not existing.signup_pending:
        if existing.is_active:
            _send(
                existing,
                template="signup_existing",
                subject="You already have an account",
                key=f"signup:{existing.pk}:existing:{hour}",
                context={
                    "login_url": settings.SITE_URL + reverse("login"),
                    "reset_url": settings.SITE_URL + reverse("password_reset"),
                },
            )
        return  # a deactivated account stays so, and nobody learns it exists
    if existing is None:
        user = User.objects.create_user(
            email=email, password=password, full_name=full_name, is_active=False
        )
        user.signup_pending = True
        user.save(update_fields=["signup_pending"])
        user.groups.add(Group.objects.get(name=Role.CUSTOMER))
    else:
        user = existing  # signed up again before confirming: the latest password counts
        user.full_name = full_name
        user.set_password(password)
        user.save(update_fields=["full_name", "password"])
    url = settings.SITE_URL + reverse("signup-confirm", args=[_confirmation_token(user)])
    _send(
        user,
        template="signup_confirm",
        subject="Confirm your e-mail address",
        key=f"signup:{user.pk}:confirm:{timezone.now().timestamp()}",
        context={"confirm_url": url, "hours": settings.SIGN_UP_CONFIRM_HOURS},
    )


def pending_user(token: str) -> User | None:
    """The pending account a confirmation token names, if valid, unexpired and unused."""
    try:
        data = signing.TimestampSigner(salt=_SALT).unsign_object(
            token, max_age=settings.SIGN_UP_CONFIRM_HOURS * 3600
        )
        user_id, email = data["user"], data["email"]
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return User.objects.filter(pk=user_id, email=email, signup_pending=True).first()


@transaction.atomic
def confirm(token: str) -> User | None:
    """Activate the account the link names (once); None if the link cannot be used."""
    user = pending_user(token)
    if user is None:
        return None
    updated = User.objects.filter(pk=user.pk, signup_pending=True).update(
        signup_pending=False, is_active=True
    )
    if not updated:
        return None
    user.refresh_from_db()
    password_in_use.send(sender=User, user=user)
    return user
