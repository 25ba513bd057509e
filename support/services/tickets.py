"""Ticket creation, field changes and the lifecycle."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.attachments import stored_uploads
from core.batch import batched
from core.errors import Conflict, DomainError
from core.jobs import enqueue_on_commit
from core.models import Organization, User
from core.models.users import CustomerTier
from core.numbering import daily_number
from core.roles import is_staff_member
from core.sanitize import html_to_text, sanitize_html

from .. import events, notifications, permissions, sla
from ..models import (
    Category,
    MessageRecipient,
    Tag,
    Team,
    Ticket,
    TicketLink,
    TicketMessage,
)
from ..models.choices import ACTIVE_STATUSES, PRIORITY_RANK, Channel, LinkKind, Priority, Status
from ..rules import engine as rules
from ..workflow import check_transition
from .common import lock_ticket

Kind = events.Kind
MAX_TAGS = 20


def _organization_for_email(email: str) -> Organization | None:
    domain = email.rsplit("@", 1)[-1].lower()
    return Organization.objects.filter(email_domain__iexact=domain).first()


def _set_tags(ticket: Ticket, names) -> None:
    names = sorted({name.strip().lower() for name in names if name and name.strip()})
    if len(names) > MAX_TAGS:
        raise DomainError(f"At most {MAX_TAGS} tags.", errors={"tags": ["Too many tags."]})
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=name) for name in names if name not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    ticket.tags.set(existing.values())


def default_priority(category: Category | None, organization: Organization | None) -> str:
    """The priority a ticket gets when its filer does not (or may not) choose one.

    By the customer's tier: enterprise customers start at high, everyone else at medium.
    (Categories carry no priority of their own yet; `category` is the hook for one.)
    """
    if organization is not None and organization.tier == CustomerTier.ENTERPRISE:
        return Priority.HIGH
    return Priority.MEDIUM


def customer_priorities() -> list[str]:
    """The priorities a customer may choose: `CUSTOMER_MAX_PRIORITY` ("high") and below."""
    cap = PRIORITY_RANK.get(settings.CUSTOMER_MAX_PRIORITY, PRIORITY_RANK[Priority.HIGH])
    return [p for p in Priority.values if PRIORITY_RANK[p] >= cap]


def check_customer_priority(priority: str | None) -> None:
    """Refuse a customer's choice above the cap (400 naming `priority`); None is the rule's."""
    if priority is not None and priority not in customer_priorities():
        allowed = ", ".join(customer_priorities())
        raise DomainError(
            f"Customers may choose a priority of {allowed}; support staff raise it if needed.",
            code="priority_not_allowed",
            errors={"priority": [f"Choose one of: {allowed}."]},
        )


def _routing_team(category: Category | None) -> Team | None:
    if category is None:
        return None
    return category.teams.order_by("pk").first()


def create_ticket(*, attachments=(), **fields) -> Ticket:
    """Open a ticket (`open_ticket`), with the files sent along with the request.

    The files are validated and stored before the transaction that writes the ticket, as for a
    reply (`add_message`); if writing fails they are deleted again.
    """
    if not attachments:
        return open_ticket(**fields)
    from .messages import ATTACHMENT_BUCKET, MAX_ATTACHMENTS_PER_MESSAGE, store_attachments

    if len(attachments) > MAX_ATTACHMENTS_PER_MESSAGE:
        raise DomainError(
            f"At most {MAX_ATTACHMENTS_PER_MESSAGE} files per request.",
            errors={"files": ["Too many files."]},
        )
    by = fields.get("by")
    with (
        stored_uploads(attachments, bucket=ATTACHMENT_BUCKET, uploader=by) as stored,
        transaction.atomic(),
    ):
        ticket = open_ticket(**fields)
        store_attachments(ticket, None, stored, by=by)
        return ticket


@transaction.atomic
def open_ticket(
    *,
    by: User | None,
    subject: str,
    description: str = "",
    customer: User | None = None,
    customer_email: str = "",
    customer_name: str = "",
    category: Category | None = None,
    priority: str | None = None,
    channel: str = Channel.WEB,
    team: Team | None = None,
    tags=(),
    created_at: dt.datetime | None = None,
) -> Ticket:
    """Open a ticket, start its SLA clocks, record the event, confirm to the customer, route it.

    A customer always files for themselves (any other customer given is ignored); staff may file
    for a customer account or an e-mail address; `by=None` is an anonymous submission (contact
    form, inbound e-mail) and needs an e-mail address.

    Without a `priority` the rule decides (`default_priority`: category, customer tier). A
    customer's own choice is capped where it is typed (`check_customer_priority` in the API
    serializer and the help-center form); staff choose any.
    """
    staff = by is not None and is_staff_member(by)
    if by is not None and not staff:
        customer, customer_email = by, by.email
        customer_name = customer_name or by.full_name
        team = None  # customers do not route their own tickets
    if customer is not None:
        customer_email = customer_email or customer.email
        customer_name = customer_name or customer.full_name
    if not customer_email:
        raise DomainError(
            "A ticket needs a customer or a customer e-mail address.",
            errors={"customer_email": ["This field is required."]},
        )
    if not subject.strip():
        raise DomainError("A ticket needs a subject.", errors={"subject": ["Required."]})
    if customer is None and staff:
        # Staff filing for an e-mail address that belongs to an account: it is that customer's.
        customer = User.objects.with_email(customer_email).first()

    description_html = sanitize_html(description)
    now = created_at or timezone.now()
    organization = (
        customer.organization
        if customer and customer.organization_id
        else _organization_for_email(customer_email)
    )
    priority_chosen = priority is not None
    if priority is None:
        priority = default_priority(category, organization)
    tag_names = {name.strip().lower() for name in tags if name and name.strip()}
    ticket = Ticket(
        number=daily_number("TKT", at=now),
        subject=subject.strip()[:200],
        description=description_html,
        description_text=html_to_text(description_html),
        customer=customer,
        customer_email=customer_email.strip().lower(),
        customer_name=customer_name.strip()[:200],
        organization=organization,
        category=category,
        priority=priority,
        channel=channel,
        team=team or _routing_team(category),
        created_at=now,
        last_message_at=now,
        customer_last_reply_at=now if not staff else None,
    )
    # The creation triggers' field-setting actions apply here, before the SLA is chosen.
    rule_plan = rules.on_create(ticket, by=by, tags=tag_names, priority_chosen=priority_chosen)
    sla.assign_policy(ticket)
    ticket.save()
    if tag_names:
        _set_tags(ticket, tag_names)
    rules.after_create(ticket, rule_plan, by=by)
    events.record(
        ticket=ticket,
        kind=Kind.CREATED,
        actor=by,
        after={"status": ticket.status, "priority": ticket.priority, "channel": ticket.channel},
        metadata={"rules": [entry["rule"] for entry in rule_plan]} if rule_plan else None,
    )
    notifications.ticket_created(ticket)
    if ticket.team_id and ticket.team.strategy != "manual":
        # Assignment runs after commit in a worker: it locks the team and counts agents' loads,
        # which would hold every concurrent creation of the team behind this one.
        from ..tasks import auto_assign_ticket

        enqueue_on_commit(auto_assign_ticket, ticket.pk)
    return ticket


EDITABLE_BY_STAFF = {"subject", "category", "team", "tags", "channel"}


@transaction.atomic
def update_ticket(*, ticket: Ticket, by: User, **changes) -> Ticket:
    """Change plain fields (subject, category, team, tags, channel), recording before/after."""
    permissions.can_edit.require(by, ticket)
    unknown = set(changes) - EDITABLE_BY_STAFF
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    ticket = lock_ticket(ticket.pk)
    before, after, fields = {}, {}, []
    for name, value in changes.items():
        if name == "tags":
            old = sorted(ticket.tags.values_list("name", flat=True))
            _set_tags(ticket, value)
            new = sorted(ticket.tags.values_list("name", flat=True))
            if old != new:
                before["tags"], after["tags"] = old, new
            continue
        old = getattr(ticket, name)
        if old != value:
            setattr(ticket, name, value)
            fields.append(name)
            before[name] = getattr(old, "pk", old)
            after[name] = getattr(value, "pk", value)
    if fields:
        ticket.save(update_fields=[*fields, "updated_at"])
    if before:
        events.record(ticket=ticket, kind=Kind.UPDATED, actor=by, before=before, after=after)
    return ticket


@transaction.atomic
def change_priority(*, ticket: Ticket, by: User, priority: str, note: str = "") -> Ticket:
    """New priority, new SLA policy and due times recomputed from the ticket's start."""
    permissions.can_change_priority.require(by, ticket)
    if priority not in Priority.values:
        raise DomainError(f"Unknown priority {priority!r}.", errors={"priority": ["Invalid."]})
    ticket = lock_ticket(ticket.pk)
    if ticket.priority == priority:
        return ticket
    before = {
        "priority": ticket.priority,
        "first_response_due_at": _iso(ticket.first_response_due_at),
        "resolution_due_at": _iso(ticket.resolution_due_at),
    }
    ticket.priority = priority
    fields = sla.assign_policy(ticket, now=timezone.now())
    ticket.save(update_fields=["priority", *fields, "updated_at"])
    events.record(
        ticket=ticket,
        kind=Kind.PRIORITY_CHANGED,
        actor=by,
        before=before,
        after={
            "priority": priority,
            "first_response_due_at": _iso(ticket.first_response_due_at),
            "resolution_due_at": _iso(ticket.resolution_due_at),
        },
        note=note,
    )
    return ticket


def _iso(value):
    return value.isoformat() if value else None


def _apply_status(ticket: Ticket, *, to: str, by: User | None, note: str, at) -> list[str]:
    """Set the status and what follows from it on a locked ticket; returns the changed fields."""
    old = ticket.status
    ticket.status = to
    fields = ["status"]
    if to == Status.RESOLVED:
        ticket.resolved_at = at
        fields.append("resolved_at")
    elif old == Status.RESOLVED and to == Status.IN_PROGRESS:
        ticket.resolved_at = None
        fields.append("resolved_at")
    if to in (Status.CLOSED, Status.CANCELLED):
        ticket.closed_at = at
        fields.append("closed_at")
    if to == Status.OPEN and old == Status.ASSIGNED:
        ticket.assigned_to = None
        fields.append("assigned_to")
    fields += sla.on_status_change(ticket, old_status=old, at=at)
    events.record(
        ticket=ticket,
        kind=Kind.STATUS_CHANGED,
        actor=by,
        before={"status": old},
        after={"status": to},
        note=note,
    )
    return fields


@transaction.atomic
def change_status(
    *, ticket: Ticket, to: str, by: User | None, note: str = "", system: bool = False
) -> Ticket:
    """Move a ticket along the state machine (409 naming the allowed targets otherwise).

    Locks the ticket, re-reads its status, records one event and tells the customer when it
    waits on them or is resolved (never the `note`, which may be for staff). `system=True` is
    for jobs (auto-close) acting with staff rights and no user.
    """
    staff = system or (by is not None and is_staff_member(by))
    if not system:
        permissions.can_change_status.require(by, ticket)
    ticket = lock_ticket(ticket.pk)
    if ticket.status == to:
        return ticket
    check_transition(ticket.status, to, staff=staff, system=system)
    if to == Status.ASSIGNED and ticket.assigned_to_id is None:
        raise Conflict("Assign the ticket to an agent to make it assigned.", code="no_assignee")
    now = timezone.now()
    fields = _apply_status(ticket, to=to, by=by, note=note, at=now)
    ticket.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
    if to == Status.RESOLVED:
        notifications.ticket_resolved(ticket, resolution_id=int(now.timestamp()))
    elif to == Status.WAITING_ON_CUSTOMER:
        notifications.waiting_on_customer(ticket, change_id=int(now.timestamp()))
    return ticket


@transaction.atomic
def mark_solved(*, ticket: Ticket, by: User | None) -> Ticket:
    """The customer says it is solved ("this solved it"): a resolved ticket is closed, an active
    one resolved and closed at once, so it never sits resolved on the customer's word alone.

    The generic status move still refuses a customer's "resolved" (DESIGN §4's customer side);
    this one rule may pass through it, as the system, only on the way to closed. No "we resolved
    it" e-mail: the customer did. `by` None is the ticket's contact through an e-mailed link.
    """
    permissions.can_close.require(by, ticket)
    ticket = lock_ticket(ticket.pk)
    now = timezone.now()
    fields = []
    if ticket.status in ACTIVE_STATUSES:
        check_transition(ticket.status, Status.RESOLVED, system=True)
        fields += _apply_status(
            ticket, to=Status.RESOLVED, by=by, note="Solved, says the customer.", at=now
        )
    check_transition(ticket.status, Status.CLOSED, staff=False)
    fields += _apply_status(ticket, to=Status.CLOSED, by=by, note="", at=now)
    ticket.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
    return ticket


def resolve_ticket(*, ticket: Ticket, by: User, note: str = "") -> Ticket:
    return change_status(ticket=ticket, to=Status.RESOLVED, by=by, note=note)


def close_ticket(*, ticket: Ticket, by: User | None, note: str = "", system=False) -> Ticket:
    return change_status(ticket=ticket, to=Status.CLOSED, by=by, note=note, system=system)


def reopen_ticket(*, ticket: Ticket, by: User, note: str = "") -> Ticket:
    return change_status(ticket=ticket, to=Status.IN_PROGRESS, by=by, note=note)


def cancel_ticket(*, ticket: Ticket, by: User, note: str = "") -> Ticket:
    return change_status(ticket=ticket, to=Status.CANCELLED, by=by, note=note)


def wait_on_customer(*, ticket: Ticket, by: User, note: str = "") -> Ticket:
    return change_status(ticket=ticket, to=Status.WAITING_ON_CUSTOMER, by=by, note=note)


AUTO_CLOSE_BATCH = 500


def auto_close_resolved(*, now=None, batch_size: int = AUTO_CLOSE_BATCH) -> int:
    """Close one batch of tickets resolved more than TICKET_AUTO_CLOSE_DAYS ago; returns how many.

    Set-based, in one transaction: the due rows are selected and locked with one indexed query
    (`FOR UPDATE SKIP LOCKED`, so a concurrent run or a reopen in progress is skipped, never
    waited for), each ticket's closing is worked out by the same `_apply_status` as a manual
    close (its event goes into the batch), and the rows are changed with one conditional
    UPDATE (`WHERE status = 'resolved'`) per set of resulting values, normally one. Events are
    written with one INSERT at the end (`core.batch.batched`). Closing tells nobody, as a manual
    close does not: no outbox rows. The statements per batch do not depend on its size.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.TICKET_AUTO_CLOSE_DAYS)
    with transaction.atomic(), batched():
        tickets = list(
            Ticket.objects.filter(status=Status.RESOLVED, resolved_at__lte=cutoff)
            .select_related("sla_policy")
            .order_by("resolved_at")
            .select_for_update(skip_locked=True, of=("self",))[:batch_size]
        )
        groups: dict[str, tuple[dict, list[int]]] = {}
        for ticket in tickets:
            fields = _apply_status(
                ticket, to=Status.CLOSED, by=None, note="Closed automatically.", at=now
            )
            values = {name: getattr(ticket, name) for name in dict.fromkeys(fields)}
            groups.setdefault(repr(sorted(values.items())), (values, []))[1].append(ticket.pk)
        closed = 0
        updated_at = timezone.now()
        for values, ids in groups.values():
            # The rows are locked, so the condition holds for each; it guards the rule anyway.
            closed += Ticket.objects.filter(pk__in=ids, status=Status.RESOLVED).update(
                **values, updated_at=updated_at
            )
    return closed


@transaction.atomic
def link_tickets(*, source: Ticket, target: Ticket, by: User, kind=LinkKind.RELATED) -> TicketLink:
    permissions.can_link.require(by, source)
    if source.pk == target.pk:
        raise DomainError("A ticket cannot be linked to itself.", code="self_link")
    link, created = TicketLink.objects.get_or_create(
        source=source, target=target, kind=kind, defaults={"created_by": by}
    )
    if created:
        events.record(
            ticket=source, kind=Kind.LINKED, actor=by, after={"target": target.number, "kind": kind}
        )
    return link


@transaction.atomic
def merge_tickets(*, source: Ticket, target: Ticket, by: User, note: str = "") -> Ticket:
    """Move `source`'s conversation into `target` and close `source` with a link to it.

    Both tickets must belong to the same customer and be still open for work. Rows are locked
    in id order so two merges of the same pair cannot deadlock.
    """
    permissions.can_merge.require(by, source)
    if source.pk == target.pk:
        raise DomainError("A ticket cannot be merged into itself.", code="self_merge")
    first, second = sorted([source.pk, target.pk])
    locked = {first: lock_ticket(first), second: lock_ticket(second)}
    source, target = locked[source.pk], locked[target.pk]
    for ticket in (source, target):
        if ticket.status in (Status.CLOSED, Status.CANCELLED):
            raise Conflict(
                f"{ticket.number} is {ticket.status} and cannot be merged.",
                code="merge_final_ticket",
            )
    same_customer = (
        source.customer_id == target.customer_id
        if source.customer_id or target.customer_id
        else source.customer_email == target.customer_email
    )
    if not same_customer:
        raise Conflict("Only tickets of the same customer can be merged.", code="merge_customer")
    moved = TicketMessage.objects.filter(ticket=source).update(ticket=target)
    source.attachments.update(ticket=target)
    # Read receipts carry the ticket (denormalised for unread counts): they move too.
    MessageRecipient.objects.filter(ticket=source).update(ticket=target)
    if source.description_text:
        TicketMessage.objects.create(
            ticket=target,
            author=source.customer,
            sender_type="customer",
            body_html=source.description,
            body_text=source.description_text,
            created_at=source.created_at,
        )
    check_transition(source.status, Status.CLOSED, system=True)
    now = timezone.now()
    source.merged_into = target
    fields = _apply_status(
        source, to=Status.CLOSED, by=by, note=f"Merged into {target.number}.", at=now
    )
    source.save(update_fields=[*dict.fromkeys(fields), "merged_into", "updated_at"])
    TicketLink.objects.get_or_create(
        source=source, target=target, kind=LinkKind.MERGED_INTO, defaults={"created_by": by}
    )
    target.last_message_at = max(filter(None, [target.last_message_at, source.last_message_at]))
    target.save(update_fields=["last_message_at", "updated_at"])
    for ticket in (source, target):
        events.record(
            ticket=ticket,
            kind=Kind.MERGED,
            actor=by,
            after={"source": source.number, "target": target.number, "messages_moved": moved},
            note=note or f"{source.number} merged into {target.number}",
        )
    return target
