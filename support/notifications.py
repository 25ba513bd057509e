"""What support tells whom. Every message is an outbox row keyed by the effect that causes it.

Customers hear about public things only (creation, public replies, waiting on them, resolution,
the satisfaction request); internal notes never produce a customer message.

Required and optional: the confirmation of a new request and every public reply are what the
customer asked for and always go; status updates (waiting on you, resolved, the manual nudge) and
the satisfaction survey are optional (`core.notifications.consent`): skipped for an address that
opted out of their category, and carrying one-click unsubscribe. SMS, when the customer turned it
on, says the ticket number and a link only.
"""

import functools
from dataclasses import dataclass, field

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from core.models import User
from core.notifications import consent
from core.notifications import services as outbox
from core.notifications.consent import EmailCategory
from core.notifications.services import (
    notify_email,
    notify_in_app,
    notify_slack,
    notify_sms,
    notify_teams,
)
from core.roles import Role

from .models import AgentProfile, Team, Ticket, TicketMessage
from .models.choices import AgentStatus
from .rules.automations import auto_close_days

REPLY_SIGNER_SALT = "support.reply-to"
REPLY_PREFIX = "reply+"
REPLY_SIGNATURE_CHARS = 20  # 80 bits of HMAC-SHA256: forging one takes ~2^80 guesses
_SECONDS_PER_DAY = 86400


def thread_message_id(
    ticket: Ticket, message: TicketMessage | None = None, *, event: str | None = None
) -> str:
    """The Message-ID of one of the ticket's e-mails: the confirmation (the thread's root), a
    public reply (`message`), or another e-mail (`event`, e.g. "resolved-1712345678"). Each
    e-mail has its own: mail clients drop a second message with a Message-ID they have seen."""
    suffix = f"msg-{message.pk}" if message else (event or "created")
    return f"<{ticket.number.lower()}.{suffix}@{settings.SUPPORT_REPLY_DOMAIN}>"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = digits[digit] + text
        if not number:
            return text


def _today() -> int:
    """Days since 1970-01-01 (UTC): the reply token's date."""
    return int(timezone.now().timestamp()) // _SECONDS_PER_DAY


def _reply_signature(value: str) -> str:
    return salted_hmac(REPLY_SIGNER_SALT, value, algorithm="sha256").hexdigest()[
        :REPLY_SIGNATURE_CHARS
    ]


def reply_to_address(ticket: Ticket) -> str:
    """`reply+<ticket id>.<day>.<signature>@domain`: answers thread back to this ticket and no
    other, for SUPPORT_REPLY_TOKEN_MAX_AGE_DAYS after the e-mail was sent.

    Short and plain enough for any mail system: lower-case letters, digits and dots (the ticket
    id and the day in base 36, 20 hex digits of HMAC), 41 characters of local part for a
    million tickets, under the 64 that RFC 5321 allows until ids pass 10^27. Lower-case, because
    some mail systems change the case of a local part on the way back.
    """
    value = f"{_base36(ticket.pk)}.{_base36(_today())}"
    return f"{REPLY_PREFIX}{value}.{_reply_signature(value)}@{settings.SUPPORT_REPLY_DOMAIN}"


def ticket_id_from_reply_address(address: str) -> int | None:
    """The ticket id a reply address names; None if it is not one of ours, was altered, or its
    day is more than SUPPORT_REPLY_TOKEN_MAX_AGE_DAYS ago."""
    local = (address or "").strip().split("@", 1)[0].lower()
    if not local.startswith(REPLY_PREFIX):
        return None
    parts = local[len(REPLY_PREFIX) :].split(".")
    if len(parts) != 3:
        return None
    ticket_part, day_part, signature = parts
    if not constant_time_compare(signature, _reply_signature(f"{ticket_part}.{day_part}")):
        return None
    try:
        ticket_id, day = int(ticket_part, 36), int(day_part, 36)
    except ValueError:
        return None
    age = _today() - day
    if not -1 <= age <= settings.SUPPORT_REPLY_TOKEN_MAX_AGE_DAYS:
        return None
    return ticket_id


def _ticket_url(ticket: Ticket, *, for_staff: bool) -> str:
    name = "desk-ticket" if for_staff else "help-ticket"
    return settings.SITE_URL + reverse(name, args=[ticket.number])


def _thread_headers(ticket: Ticket, message: TicketMessage | None, event: str | None) -> dict:
    """Message-ID of this e-mail; every e-mail but the root answers the root (In-Reply-To,
    References), so mail clients show the ticket's e-mails as one conversation."""
    root = thread_message_id(ticket)
    headers = {"Message-ID": thread_message_id(ticket, message, event=event)}
    if message is not None or event is not None:
        headers.update({"In-Reply-To": root, "References": root})
    return headers


def _email_customer(
    *,
    key: str,
    ticket: Ticket,
    subject: str,
    template: str,
    context: dict,
    message: TicketMessage | None = None,
    event: str | None = None,
    category: str | None = None,
) -> None:
    """One e-mail to the ticket's customer: text and HTML parts from `template`, the number in
    the subject, threading headers, the signed reply address. With a `category` it is optional:
    not written when the address opted out, and it carries one-click unsubscribe (headers and
    footer)."""
    to = ticket.customer_email
    context = {"ticket": ticket, "ticket_url": _ticket_url(ticket, for_staff=False), **context}
    if category is not None:
        # `notify_email` writes nothing for an address that opted out of the category.
        context["unsubscribe_url"] = consent.unsubscribe_url(to, category)
        context["unsubscribe_label"] = EmailCategory(category).label.lower()
    notify_email(
        key=key,
        to=to,
        subject=f"[{ticket.number}] {subject}",
        body=render_to_string(f"support/email/{template}.txt", context),
        html_body=render_to_string(f"support/email/{template}.html", context),
        user=ticket.customer,
        headers=_thread_headers(ticket, message, event),
        reply_to=reply_to_address(ticket),
        category=category,
    )


# What a text message says: the ticket number and a link, never anything the ticket contains.
SMS_TEXTS = {
    "reply": "{number}: we answered your request. Read it at {url}",
    "waiting": "{number}: we need your answer. Reply at {url}",
    "resolved": "{number}: your request is resolved. See {url}",
}


def _text_customer(*, key: str, ticket: Ticket, what: str) -> None:
    """An SMS when the customer turned them on and has a number (optional, like status mail)."""
    customer = ticket.customer
    if customer is None or not customer.sms_notifications or not customer.phone:
        return
    notify_sms(
        key=key,
        to=customer.phone,
        body=SMS_TEXTS[what].format(number=ticket.number, url=_ticket_url(ticket, for_staff=False)),
        user=customer,
    )


def _access_context(issued) -> dict:
    return {
        "access_url": issued.url,
        "access_expires": issued.link.expires_at,
        "new_link_url": settings.SITE_URL + reverse("help-access-request"),
    }


def ticket_created(ticket: Ticket) -> None:
    """The confirmation; a contact who cannot sign in gets a link that opens this ticket."""
    from .services import access

    context = {}
    if access.needs_access_link(ticket):
        context = _access_context(access.issue_link(ticket))
    _email_customer(
        key=f"ticket:{ticket.pk}:created:confirmation",
        ticket=ticket,
        subject=f"We received your request: {ticket.subject}",
        template="ticket_created",
        context=context,
    )


def access_link(ticket: Ticket, issued) -> None:
    """A new link to the ticket, asked for on the help center."""
    _email_customer(
        key=f"ticket:{ticket.pk}:access-link:{issued.link.pk}",
        ticket=ticket,
        subject=f"Your link to {ticket.number}",
        template="access_link",
        context=_access_context(issued),
        event=f"access-{issued.link.pk}",
    )


def sign_in_instead(ticket: Ticket, *, email: str) -> None:
    """A link was asked for an address that has an account with a password: sign in instead.
    Keyed by the hour, so repeated asking sends at most one an hour."""
    from django.utils import timezone

    hour = timezone.now().strftime("%Y%m%d%H")
    _email_customer(
        key=f"ticket:{ticket.pk}:sign-in-instead:{hour}",
        ticket=ticket,
        subject=f"Sign in to see {ticket.number}",
        template="sign_in_instead",
        context={"reset_url": settings.SITE_URL + reverse("password_reset")},
        event=f"sign-in-{hour}",
    )


def public_reply_added(message: TicketMessage) -> None:
    """A staff member's public reply goes to the customer; never called for notes."""
    assert not message.is_internal, "internal notes are never sent to customers"
    ticket = message.ticket
    _email_customer(
        key=f"ticket:{ticket.pk}:message:{message.pk}:customer-email",
        ticket=ticket,
        subject=ticket.subject,
        template="agent_reply",
        context={"message": message},
        message=message,
    )
    _text_customer(
        key=f"ticket:{ticket.pk}:message:{message.pk}:customer-sms", ticket=ticket, what="reply"
    )


def customer_replied(message: TicketMessage) -> None:
    ticket = message.ticket
    if ticket.assigned_to_id is None:
        return
    notify_in_app(
        key=f"ticket:{ticket.pk}:message:{message.pk}:assignee",
        user=ticket.assigned_to,
        title=f"{ticket.number}: new reply from {ticket.customer_name or ticket.customer_email}",
        body=message.body_text[:300],
        url=reverse("desk-ticket", args=[ticket.number]),
    )


def ticket_assigned(ticket: Ticket, *, assignment_id: int, note: str = "") -> None:
    agent = ticket.assigned_to
    url = reverse("desk-ticket", args=[ticket.number])
    title = f"{ticket.number} was assigned to you: {ticket.subject}"
    notify_in_app(
        key=f"ticket:{ticket.pk}:assigned:{assignment_id}:in-app",
        user=agent,
        title=title,
        body=note,
        url=url,
    )
    notify_email(
        key=f"ticket:{ticket.pk}:assigned:{assignment_id}:email",
        to=agent.email,
        subject=f"[{ticket.number}] assigned to you: {ticket.subject}",
        body=render_to_string(
            "support/email/assigned.txt",
            {"ticket": ticket, "note": note, "ticket_url": settings.SITE_URL + url},
        ),
        user=agent,
    )


def waiting_on_customer(ticket: Ticket, *, change_id: int) -> None:
    """The ticket now waits on the customer: "we need your answer" (a status update: optional).

    Not the manual nudge (`reminder`), which an agent sends later when no answer came.
    """
    _email_customer(
        key=f"ticket:{ticket.pk}:waiting:{change_id}:customer-email",
        ticket=ticket,
        subject=f"We need your answer: {ticket.subject}",
        template="waiting_on_customer",
        context={},
        event=f"waiting-{change_id}",
        category=EmailCategory.UPDATES,
    )
    _text_customer(
        key=f"ticket:{ticket.pk}:waiting:{change_id}:customer-sms", ticket=ticket, what="waiting"
    )


def ticket_resolved(ticket: Ticket, *, resolution_id: int) -> None:
    """The resolved e-mail (a status update: optional) and, in an e-mail of its own, the
    satisfaction request (a survey: optional on its own), so each unsubscribes separately."""
    _email_customer(
        key=f"ticket:{ticket.pk}:resolved:{resolution_id}:customer-email",
        ticket=ticket,
        subject=f"Resolved: {ticket.subject}",
        template="resolved",
        context={"auto_close_days": auto_close_days()},
        event=f"resolved-{resolution_id}",
        category=EmailCategory.UPDATES,
    )
    _text_customer(
        key=f"ticket:{ticket.pk}:resolved:{resolution_id}:customer-sms",
        ticket=ticket,
        what="resolved",
    )
    satisfaction_request(ticket, resolution_id=resolution_id)


def satisfaction_request(ticket: Ticket, *, resolution_id: int) -> None:
    """The "how did we do?" e-mail, linking to the help-center ticket page's rating form.

    The link only opens the page; rating is the form's POST there (link scanners follow links).
    Not sent for a ticket already rated (a re-resolution after a reopen).
    """
    if ticket.satisfaction_rating is not None:
        return
    _email_customer(
        key=f"ticket:{ticket.pk}:resolved:{resolution_id}:survey-email",
        ticket=ticket,
        subject=f"How did we do? {ticket.subject}",
        template="satisfaction_request",
        context={"rate_url": _ticket_url(ticket, for_staff=False) + "#rate"},
        event=f"survey-{resolution_id}",
        category=EmailCategory.SURVEYS,
    )


@functools.cache
def _desk_ticket_prefix() -> str:
    return reverse("desk-ticket", args=["0"])[: -len("0/")]


def desk_ticket_path(ticket: Ticket) -> str:
    return f"{_desk_ticket_prefix()}{ticket.number}/"


def _staff_alert(*, key: str, users, title: str, body: str, ticket: Ticket, email=True) -> list:
    """In-app (and e-mail) to each staff member once per key; returns who was told. The rows go
    out together (`enqueue_many`: in a sweep's batch, tuples instead of model instances)."""
    url = desk_ticket_path(ticket)
    told, messages = [], []
    email_body = f"{body}\n\n{settings.SITE_URL}{url}" if email else None
    for user in users:
        messages.append(
            outbox.in_app(
                key=f"{key}:user:{user.pk}:in-app", user=user, title=title, body=body, url=url
            )
        )
        if email:
            messages.append(
                outbox.email(
                    key=f"{key}:user:{user.pk}:email",
                    to=user.email,
                    subject=title,
                    body=email_body,
                    user=user,
                )
            )
        told.append(f"user:{user.pk}")
    outbox.enqueue_many(messages)
    return told


def _webhooks(*, key: str, text: str, slack: bool, teams: bool) -> list:
    told = []
    if slack and notify_slack(key=f"{key}:slack", text=text):
        told.append("slack")
    if teams and notify_teams(key=f"{key}:teams", text=text):
        told.append("teams")
    return told


def on_duty_leads() -> list[User]:
    """The support leads on duty: active leads whose agent status is available (a lead with no
    agent profile counts as available, the profile's default), else every active lead, so an
    alert about a ticket nobody owns always reaches someone who can act on it. One query."""
    leads = list(
        User.objects.filter(groups__name=Role.SUPPORT_LEAD, is_active=True)
        .select_related("agent_profile")
        .order_by("pk")
    )

    def available(user) -> bool:
        try:
            return user.agent_profile.status == AgentStatus.AVAILABLE
        except AgentProfile.DoesNotExist:
            return True

    return [user for user in leads if available(user)] or leads


def _active_members(team_ids) -> dict[int, list[User]]:
    members: dict[int, list[User]] = {team_id: [] for team_id in team_ids}
    rows = (
        Team.members.through.objects.filter(team_id__in=members, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )
    for row in rows:
        members[row.team_id].append(row.user)
    return members


@dataclass
class Audience:
    """The staff a sweep's alerts go to, read for a whole batch instead of once per ticket:
    active members per team (`load_teams` with every team the batch may need) and the on-duty
    leads (read on first use). A team not loaded beforehand is read when asked for, so a
    missing preload costs queries, never a wrong recipient."""

    members: dict[int, list[User]] = field(default_factory=dict)
    leads: list[User] | None = None
    notify_users: dict[int, list[User]] = field(default_factory=dict)  # per escalation level

    def load_teams(self, team_ids) -> None:
        missing = {team_id for team_id in team_ids if team_id and team_id not in self.members}
        if missing:
            self.members.update(_active_members(missing))

    def team_members(self, team_id: int) -> list[User]:
        self.load_teams([team_id])
        return self.members[team_id]

    def on_duty_leads(self) -> list[User]:
        if self.leads is None:
            self.leads = on_duty_leads()
        return self.leads

    def level_users(self, level) -> list[User]:
        """The users escalation `level` names (prefetched with the levels), listed once per
        level: each `.all()` builds a related manager and a queryset, even when prefetched."""
        users = self.notify_users.get(level.pk)
        if users is None:
            users = self.notify_users[level.pk] = list(level.notify_users.all())
        return users


def _watchers(ticket: Ticket, audience: Audience | None = None) -> list:
    """Who hears about a ticket's SLA: its assignee, else the active members of its team, else
    (no assignee, no team or nobody active in it) the on-duty support leads."""
    if ticket.assigned_to_id:
        return [ticket.assigned_to]
    audience = audience or Audience()
    members = audience.team_members(ticket.team_id) if ticket.team_id else []
    return members or audience.on_duty_leads()


def sla_warning(ticket: Ticket, *, clock: str, audience: Audience | None = None) -> list:
    label = "first response" if clock == "response" else "resolution"
    due = ticket.first_response_due_at if clock == "response" else ticket.resolution_due_at
    title = f"{ticket.number} is at risk: {label} due {due:%Y-%m-%d %H:%M} UTC"
    return _staff_alert(
        key=f"ticket:{ticket.pk}:sla:{clock}-warning",
        users=_watchers(ticket, audience),
        title=title,
        body=ticket.subject,
        ticket=ticket,
        email=False,
    )


def sla_breached(ticket: Ticket, *, clock: str, audience: Audience | None = None) -> list:
    label = "first response" if clock == "response" else "resolution"
    title = f"{ticket.number} breached its {label} SLA ({ticket.get_priority_display()})"
    key = f"ticket:{ticket.pk}:sla:{clock}-breach"
    told = _staff_alert(
        key=key, users=_watchers(ticket, audience), title=title, body=ticket.subject, ticket=ticket
    )
    return told + _webhooks(key=key, text=f"{title}: {ticket.subject}", slack=True, teams=True)


@dataclass
class EscalationPlan:
    """Who hears about an escalation, decided before it is written (so it is stored with it)."""

    key: str
    title: str
    body: str
    ticket: Ticket
    users: list
    emails: list
    slack: bool
    teams: bool

    @property
    def told(self) -> list[str]:
        told = [f"user:{user.pk}" for user in self.users]
        told += [f"email:{address}" for address in self.emails]
        if self.slack and settings.SLACK_WEBHOOK_URL:
            told.append("slack")
        if self.teams and settings.TEAMS_WEBHOOK_URL:
            told.append("teams")
        return told


def escalation_plan(
    ticket: Ticket, *, escalation, level, audience: Audience | None = None
) -> EscalationPlan:
    """Who hears about `escalation`. A sweep passes the batch's `audience` (teams and leads
    read once); alone it reads them here."""
    audience = audience or Audience()
    users = {}
    notify_users = audience.level_users(level) if level is not None else []
    has_targets = level is not None and (level.notify_team_id or level.email_list or notify_users)
    if escalation.source == "manual" or not has_targets:
        # An automatic level with targets of its own does not repeat the breach alert that the
        # watchers got a moment ago.
        users = {user.pk: user for user in _watchers(ticket, audience)}
    if escalation.target_user is not None:
        users[escalation.target_user.pk] = escalation.target_user
    slack = teams = False
    if level is not None:
        users.update({user.pk: user for user in notify_users})
        if level.notify_team_id is not None:
            users.update({u.pk: u for u in audience.team_members(level.notify_team_id)})
        slack, teams = level.notify_slack, level.notify_teams
    if escalation.target_team_id is not None:
        users.update({u.pk: u for u in audience.team_members(escalation.target_team_id)})
    return EscalationPlan(
        key=f"ticket:{ticket.pk}:escalation:{escalation.level}",
        title=f"{ticket.number} escalated to level {escalation.level}",
        body=f"{ticket.subject}\n{escalation.reason}".strip(),
        ticket=ticket,
        users=list(users.values()),
        emails=level.email_list if level is not None else [],
        slack=slack,
        teams=teams,
    )


def send_escalation(plan: EscalationPlan) -> None:
    ticket = plan.ticket
    _staff_alert(key=plan.key, users=plan.users, title=plan.title, body=plan.body, ticket=ticket)
    url = settings.SITE_URL + desk_ticket_path(ticket)
    for address in plan.emails:
        notify_email(
            key=f"{plan.key}:email:{address}",
            to=address,
            subject=plan.title,
            body=f"{plan.body}\n\n{url}",
        )
    _webhooks(key=plan.key, text=f"{plan.title}: {plan.body}", slack=plan.slack, teams=plan.teams)


def reminder(ticket: Ticket, *, target: str, message: str, reminder_id: int) -> None:
    if target == "assignee":
        _staff_alert(
            key=f"ticket:{ticket.pk}:reminder:{reminder_id}",
            users=[ticket.assigned_to],
            title=f"Reminder: {ticket.number} is waiting for you",
            body=message or f"{ticket.subject} (SLA due {ticket.sla_due_at or 'not set'})",
            ticket=ticket,
        )
        return
    _email_customer(
        key=f"ticket:{ticket.pk}:reminder:{reminder_id}:customer-email",
        ticket=ticket,
        subject=f"We are waiting for your answer: {ticket.subject}",
        template="nudge",
        context={"message": message},
        event=f"reminder-{reminder_id}",
        category=EmailCategory.UPDATES,
    )
