"""Consent for optional e-mail: opt-outs per address and category, and one-click unsubscribe.

What is optional is decided by the caller: `notify_email(..., category=EmailCategory.UPDATES)`
marks an e-mail as optional. Such an e-mail is not written at all for an address that opted
out of its category, and carries `List-Unsubscribe` / `List-Unsubscribe-Post` (RFC 8058) with a
link that unsubscribes that one address from that one category. Mail without a category is
required (a confirmation, a reply to the person's own request) and has no unsubscribe.

The unsubscribe token is signed (SECRET_KEY, its own salt) and names the address and the
category; it does not expire (an unsubscribe link must keep working as long as the e-mail is
read) and it can do nothing but unsubscribe, so it needs no sign-in.
"""

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse

from core.models import EmailOptOut
from core.models.notifications import EmailCategory

UNSUBSCRIBE_SALT = "core.email.unsubscribe"

__all__ = [
    "EmailCategory",
    "list_unsubscribe_headers",
    "normalise_address",
    "opt_in",
    "opt_out",
    "opted_out",
    "opted_out_categories",
    "read_unsubscribe_token",
    "set_email_preferences",
    "unsubscribe_token",
    "unsubscribe_url",
]


def normalise_address(address: str) -> str:
    """Addresses are compared and stored lower-case, without surrounding blanks."""
    return (address or "").strip().lower()


def opted_out(address: str, category: str) -> bool:
    return EmailOptOut.objects.filter(
        address=normalise_address(address), category=category
    ).exists()


def opted_out_categories(address: str) -> set[str]:
    return set(
        EmailOptOut.objects.filter(address=normalise_address(address)).values_list(
            "category", flat=True
        )
    )


def opt_out(*, address: str, category: str, source: str) -> bool:
    """Stop `category` e-mail to `address`; True when this changed anything (idempotent)."""
    if category not in EmailCategory.values:
        raise ValueError(f"Unknown e-mail category {category!r}")
    _, created = EmailOptOut.objects.get_or_create(
        address=normalise_address(address), category=category, defaults={"source": source}
    )
    return created


def opt_in(*, address: str, category: str) -> bool:
    """`category` e-mail to `address` again; True when an opt-out was removed."""
    deleted, _ = EmailOptOut.objects.filter(
        address=normalise_address(address), category=category
    ).delete()
    return bool(deleted)


@transaction.atomic
def set_email_preferences(*, address: str, wanted: dict[str, bool], source: str) -> None:
    """The preferences page: each category of `wanted` on (True) or off (False) for `address`."""
    for category, on in wanted.items():
        if on:
            opt_in(address=address, category=category)
        else:
            opt_out(address=address, category=category, source=source)


def unsubscribe_token(address: str, category: str) -> str:
    """A signed token naming one address and one category (URL-safe, no slash). It carries no
    time: the same address and category always give the same token, so the header and the
    footer of one e-mail (built a moment apart) name the same link, and it never expires."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object(
        {"a": normalise_address(address), "c": category}, compress=True
    )


def read_unsubscribe_token(token: str) -> tuple[str, str] | None:
    """(address, category) of a valid token; None for anything forged, altered or unknown."""
    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    address, category = data.get("a"), data.get("c")
    if not isinstance(address, str) or not address or category not in EmailCategory.values:
        return None
    return address, category


def unsubscribe_url(address: str, category: str) -> str:
    return settings.SITE_URL + reverse(
        "email-unsubscribe", args=[unsubscribe_token(address, category)]
    )


def list_unsubscribe_headers(address: str, category: str) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: mail clients POST `List-Unsubscribe=One-Click` there."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(address, category)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
