"""Mail that must never open a ticket or add a reply: automatic answers, bounces, loops.

Each check names why it matched (stored with the inbound record). The order: our own mail
coming back (loop), delivery reports (bounce), automatic answers (auto-reply), then the
per-sender rate cap, which stops a loop with a mailer that marks nothing as automatic.
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from .parse import ParsedEmail

_BOUNCE_SENDERS = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
# Exchange puts X-Auto-Response-Suppress on mail it generates itself; a person's mail from
# Outlook carries none.
_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "X-Autoresponder")
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?\s*(?:reply|response|antwort)|out of (?:the )?office|"
    r"abwesenheitsnotiz|absence|r[ée]ponse automatique|autosvar)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Verdict:
    outcome: str  # an InboundEmail.Outcome value
    reason: str


def own_domain() -> str:
    return settings.SUPPORT_REPLY_DOMAIN.lower()


def is_our_message_id(message_id: str) -> bool:
    return message_id.rstrip(">").lower().endswith("@" + own_domain())


def automatic_mail(parsed: ParsedEmail) -> Verdict | None:
    """Why `parsed` is a loop, a bounce or an automatic reply, or None for a person's mail."""
    from ..models import InboundEmail

    Outcome = InboundEmail.Outcome
    if parsed.message_id and is_our_message_id(parsed.message_id):
        return Verdict(Outcome.IGNORED_LOOP, f"Message-ID {parsed.message_id} is one of ours")
    sender_domain = parsed.sender.rpartition("@")[2]
    if sender_domain == own_domain() or parsed.sender in _our_addresses():
        return Verdict(Outcome.IGNORED_LOOP, f"sent from our own address {parsed.sender}")

    content_type = parsed.message.get_content_type() if parsed.message is not None else ""
    report_type = parsed.message.get_param("report-type", "") if parsed.message else ""
    if content_type == "multipart/report" and str(report_type).lower() in (
        "delivery-status",
        "disposition-notification",
    ):
        return Verdict(Outcome.IGNORED_BOUNCE, f"a {report_type} report")
    if _BOUNCE_SENDERS.match(parsed.sender):
        return Verdict(Outcome.IGNORED_BOUNCE, f"sent by {parsed.sender}")

    auto_submitted = parsed.header("Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return Verdict(Outcome.IGNORED_AUTOREPLY, f"Auto-Submitted: {auto_submitted}")
    precedence = parsed.header("Precedence").lower()
    if precedence in _AUTO_PRECEDENCE:
        return Verdict(Outcome.IGNORED_AUTOREPLY, f"Precedence: {precedence}")
    for name in _AUTO_HEADERS:
        if parsed.header(name):
            return Verdict(Outcome.IGNORED_AUTOREPLY, f"{name}: {parsed.header(name)}")
    if _AUTO_SUBJECT.match(parsed.subject):
        return Verdict(Outcome.IGNORED_AUTOREPLY, f"automatic reply subject {parsed.subject!r}")
    if parsed.header("Return-Path") == "<>":
        # The null sender is reserved for bounces and automatic answers (RFC 5321, RFC 3834).
        return Verdict(Outcome.IGNORED_BOUNCE, "empty Return-Path (null sender)")
    return None


def _our_addresses() -> set[str]:
    from email.utils import parseaddr

    addresses = {parseaddr(settings.DEFAULT_FROM_EMAIL)[1], parseaddr(settings.SERVER_EMAIL)[1]}
    return {address.lower() for address in addresses if address}


def over_rate_cap(parsed: ParsedEmail) -> Verdict | None:
    """The sender's mails that opened tickets or added replies in the last hour reached
    `INBOUND_EMAIL_MAX_PER_SENDER_PER_HOUR` (0: no cap). Counted from the inbound records, so
    the cap holds across processes and restarts; two mails arriving at the same instant may
    both pass at the boundary."""
    from ..models import InboundEmail

    cap = settings.INBOUND_EMAIL_MAX_PER_SENDER_PER_HOUR
    if not cap or not parsed.sender:
        return None
    accepted = InboundEmail.objects.filter(
        sender=parsed.sender,
        received_at__gte=timezone.now() - dt.timedelta(hours=1),
        outcome__in=InboundEmail.ACCEPTED_OUTCOMES,
    ).count()
    if accepted >= cap:
        return Verdict(
            InboundEmail.Outcome.RATE_LIMITED,
            f"{accepted} mails from {parsed.sender} accepted in the last hour (cap {cap})",
        )
    return None
