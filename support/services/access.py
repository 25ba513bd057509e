"""The help center without an account: one ticket opened by a link e-mailed to its contact.

A link is single-use and expires (`TICKET_ACCESS_LINK_HOURS`); opening it grants the browser
session that one ticket for `TICKET_ACCESS_GRANT_DAYS`. A grant is checked against its row on
every request, so revoking the row (the address got an account with a password) ends it at once.
Nothing here ever reveals whether an address or a ticket exists.
"""

import hashlib
import secrets
from typing import NamedTuple

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from core.errors import Conflict
from core.models import User

from .. import events, notifications
from ..models import Ticket, TicketAccessLink

Kind = events.Kind
SESSION_KEY = "support.ticket_access"
SESSION_GRANTS_KEPT = 20
_SALT = "support.ticket-access"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _link_lifetime() -> timezone.timedelta:
    return timezone.timedelta(hours=settings.TICKET_ACCESS_LINK_HOURS)


def needs_access_link(ticket: Ticket) -> bool:
    """A contact who cannot simply sign in: no account, or an account without a password."""
    return ticket.customer is None or not ticket.customer.has_usable_password()


class IssuedLink(NamedTuple):
    link: TicketAccessLink
    url: str  # absolute, to e-mail; the only place the secret ever is


def issue_link(ticket: Ticket) -> IssuedLink:
    """A new link to `ticket` for its contact's address."""
    secret = secrets.token_urlsafe(24)
    link = TicketAccessLink.objects.create(
        ticket=ticket,
        email=ticket.customer_email.lower(),
        secret_hash=_hash(secret),
        expires_at=timezone.now() + _link_lifetime(),
    )
    token = signing.TimestampSigner(salt=_SALT).sign_object([link.pk, secret])
    return IssuedLink(link, settings.SITE_URL + reverse("help-access", args=[token]))


def link_for_token(token: str) -> TicketAccessLink | None:
    """The link a token names if its signature, age and secret are right; else None."""
    try:
        link_id, secret = signing.TimestampSigner(salt=_SALT).unsign_object(
            token, max_age=_link_lifetime()
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(link_id, int) or not isinstance(secret, str):
        return None
    link = TicketAccessLink.objects.select_related("ticket").filter(pk=link_id).first()
    if link is None or not constant_time_compare(link.secret_hash, _hash(secret)):
        return None
    return link


def link_problem(link: TicketAccessLink | None) -> str:
    """Why a link cannot be opened ("" when it can)."""
    if link is None:
        return "This link is not valid."
    if link.revoked_at is not None:
        return "This link was withdrawn: sign in to see your request."
    if link.used_at is not None:
        return "This link was already used."
    if link.expires_at <= timezone.now():
        return "This link has expired."
    return ""


@transaction.atomic
def open_link(session, token: str) -> Ticket:
    """Use the link once: mark it used and grant `session` its ticket; 409 if it cannot be."""
    link = link_for_token(token)
    problem = link_problem(link)
    now = timezone.now()
    if not problem:
        # Conditional, so two clicks at once cannot both use it.
        opened = TicketAccessLink.objects.filter(
            pk=link.pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).update(
            used_at=now,
            grant_expires_at=now + timezone.timedelta(days=settings.TICKET_ACCESS_GRANT_DAYS),
        )
        if not opened:
            problem = "This link was already used."
    if problem:
        raise Conflict(problem, code="access_link_unusable")
    grants = [pk for pk in session.get(SESSION_KEY, []) if pk != link.pk]
    session[SESSION_KEY] = [*grants, link.pk][-SESSION_GRANTS_KEPT:]
    events.record(
        ticket=link.ticket, kind=Kind.ACCESS_LINK_OPENED, actor=None, after={"link": link.pk}
    )
    return link.ticket


def granted_ticket(session, number: str) -> Ticket | None:
    """The ticket numbered `number` if `session` holds a live grant to it (one query)."""
    grant_ids = [pk for pk in session.get(SESSION_KEY, []) if isinstance(pk, int)]
    if not grant_ids:
        return None
    return (
        Ticket.objects.filter(
            number=number.strip().upper(),
            access_links__pk__in=grant_ids,
            access_links__revoked_at__isnull=True,
            access_links__grant_expires_at__gt=timezone.now(),
        )
        .select_related("customer")
        .first()
    )


def request_new_link(*, email: str, number: str) -> None:
    """E-mail a new link to `number` if `email` is its contact; say nothing either way.

    An address that has an active account with a password is told to sign in instead: links
    stop once the customer has a password.
    """
    email = email.strip().lower()
    ticket = Ticket.objects.with_customer_email(email).filter(number=number.strip().upper()).first()
    if ticket is None:
        return
    account = User.objects.with_email(email).filter(is_active=True).first()
    if account is not None and account.has_usable_password():
        notifications.sign_in_instead(ticket, email=email)
        return
    notifications.access_link(ticket, issue_link(ticket))


def revoke_links(email: str) -> int:
    """Withdraw every link and grant for `email` (it now has an account with a password)."""
    return TicketAccessLink.objects.filter(
        email=email.strip().lower(), revoked_at__isnull=True
    ).update(revoked_at=timezone.now())


def address_has_account(user: User) -> None:
    """`user`'s address now has an account with a password: its links end, and the requests
    filed from it without an account become the account's (it proved the address: a confirmed
    sign-up or a password reset, or staff set it up)."""
    revoke_links(user.email)
    adopted = list(
        Ticket.objects.with_customer_email(user.email).filter(customer__isnull=True).only("pk")
    )
    if not adopted:
        return
    Ticket.objects.filter(pk__in=[t.pk for t in adopted]).update(customer=user)
    for ticket in adopted:
        events.record(ticket=ticket, kind=Kind.UPDATED, actor=None, after={"customer": user.pk})


def grant_follow_up(session, follow_up: Ticket, *, source: Ticket) -> None:
    """A visitor with access to `source` wrote to it after it closed: the follow-up it opened
    is theirs too, so the session may see it (a used link row records the grant)."""
    now = timezone.now()
    link = TicketAccessLink.objects.create(
        ticket=follow_up,
        email=follow_up.customer_email.lower(),
        secret_hash=_hash(secrets.token_urlsafe(24)),  # never sent: this row cannot be opened
        expires_at=now,
        used_at=now,
        grant_expires_at=now + timezone.timedelta(days=settings.TICKET_ACCESS_GRANT_DAYS),
    )
    grants = session.get(SESSION_KEY, [])
    session[SESSION_KEY] = [*grants, link.pk][-SESSION_GRANTS_KEPT:]
    events.record(
        ticket=follow_up,
        kind=Kind.ACCESS_LINK_OPENED,
        actor=None,
        after={"link": link.pk, "follow_up_of": source.number},
    )
