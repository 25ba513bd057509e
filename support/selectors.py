"""Reads shared by the API, the desk, the help center and the admin."""

from django.db.models import Count, OuterRef, Prefetch, Q, Subquery

from core.roles import is_staff_member
from core.search import search

from . import search as _ticket_document  # noqa: F401 - registers the ticket document
from .models import (
    Attachment,
    MessageRecipient,
    Ticket,
    TicketArticle,
    TicketEvent,
    TicketMessage,
)
from .models.choices import Status

# What list and detail serialisers and the desk queue show (the customer's name and address are
# columns of the ticket itself).
LIST_RELATED = ["assigned_to", "team", "category", "organization", "sla_policy"]


def tickets_for(user):
    """The tickets `user` may see, loaded for list and detail serialisers in constant queries.

    Unread counts are not part of this query (a per-row subquery would run for every row the
    database sorts); `attach_unread_counts` adds them for the rows actually shown.
    """
    # Related rows come by prefetch, not JOIN: with six joins PostgreSQL spent ~15 ms planning
    # the queue query at a million tickets, against well under 1 ms executing it.
    return Ticket.objects.visible_to(user).prefetch_related(*LIST_RELATED, "tags")


def attach_unread_counts(tickets, user) -> None:
    """Set `unread_count` on each ticket: messages addressed to `user` not yet read (1 query)."""
    tickets = list(tickets)
    if not tickets or not is_staff_member(user):
        return
    counts = dict(
        MessageRecipient.objects.filter(
            recipient=user, read_at__isnull=True, ticket_id__in=[t.pk for t in tickets]
        )
        .order_by()
        .values("ticket_id")
        .annotate(n=Count("pk"))
        .values_list("ticket_id", "n")
    )
    for ticket in tickets:
        ticket.unread_count = counts.get(ticket.pk, 0)


LAST_MESSAGE_CHARS = 140


def attach_last_messages(tickets) -> None:
    """Set `last_message` on each ticket: the start of its latest public message (one query:
    an indexed lookup per ticket shown, never a scan of the conversation)."""
    tickets = list(tickets)
    if not tickets:
        return
    latest = TicketMessage.objects.filter(ticket=OuterRef("pk"), is_internal=False).order_by(
        "-created_at", "-pk"
    )
    snippets = dict(
        Ticket.objects.filter(pk__in=[t.pk for t in tickets])
        .annotate(last=Subquery(latest.values("body_text")[:1]))
        .values_list("pk", "last")
    )
    for ticket in tickets:
        text = " ".join((snippets.get(ticket.pk) or "").split())
        ticket.last_message = text[:LAST_MESSAGE_CHARS] + (
            "…" if len(text) > LAST_MESSAGE_CHARS else ""
        )


def messages_for(*, ticket: Ticket, user):
    """The ticket's conversation as `user` may see it: customers never get internal notes."""
    queryset = ticket.messages.select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
    )
    if not is_staff_member(user):
        queryset = queryset.filter(is_internal=False)
    else:
        queryset = queryset.prefetch_related(
            Prefetch("recipients", queryset=MessageRecipient.objects.select_related("recipient"))
        )
    return queryset


def request_files(ticket: Ticket):
    """The files sent with the request itself (no message: shown with the description)."""
    return Attachment.objects.filter(ticket=ticket, message__isnull=True).order_by("pk")


def attachments_for(*, ticket: Ticket, user):
    queryset = Attachment.objects.filter(ticket=ticket).select_related("message")
    if not is_staff_member(user):
        queryset = queryset.filter(Q(message__isnull=True) | Q(message__is_internal=False))
    return queryset


def with_number(queryset, number: str):
    """The ticket numbered `number`, in any letter case.

    Numbers are stored upper-case and e-mail addresses lower-case, so both are matched exactly:
    an `iexact` lookup compares UPPER(column) and no index serves it (a full scan, ~0.5 s at a
    million tickets).
    """
    return queryset.filter(number=number.strip().upper())


def search_tickets(queryset, q: str, *, ordered: bool = False, snippets: bool = False):
    """Keyword search within `queryset` (already scoped by `visible_to`): a ticket number or an
    e-mail address exactly, through their indexes; else full text (`core.search`) over subject,
    customer, organisation and description, words in any order, typos tolerated.

    `ordered` sorts by relevance (rows carry `search_rank`), otherwise the caller's order stands;
    `snippets` adds `search_snippet`.
    """
    q = q.strip()
    if not q:
        return queryset
    if q.upper().startswith("TKT-"):
        return with_number(queryset, q)
    if "@" in q and not any(c.isspace() for c in q):
        return queryset.with_customer_email(q)
    return search(queryset, q, ordered=ordered, snippets=snippets)


def customer_requests(user):
    """The help center's "my requests": what `user` may see, last updated first (the column the
    list shows), with the requester for an organisation admin's colleagues."""
    return Ticket.objects.visible_to(user).select_related("customer").order_by("-updated_at", "-id")


def status_timeline(ticket: Ticket) -> list[dict]:
    """The ticket's statuses over time as a customer may see them: only which status and when
    (no actor, no note: those may be internal)."""
    labels = dict(Status.choices)
    rows = ticket.events.filter(
        kind__in=[TicketEvent.Kind.CREATED, TicketEvent.Kind.STATUS_CHANGED]
    )
    timeline = []
    for kind, after, at in rows.order_by("created_at", "pk").values_list(
        "kind", "after", "created_at"
    ):
        status = (after or {}).get("status") or Status.OPEN
        if timeline and timeline[-1]["status"] == status:
            continue
        timeline.append(
            {
                "status": status,
                "label": labels.get(status, status),
                "at": at,
                "created": kind == TicketEvent.Kind.CREATED,
            }
        )
    return timeline


def customer_other_tickets(ticket: Ticket, user):
    """The same customer's other tickets that `user` may see, newest first (the customer panel).
    Matched by account, else by address: a contact without an account is one address."""
    others = Ticket.objects.visible_to(user).exclude(pk=ticket.pk)
    if ticket.customer_id:
        others = others.filter(customer_id=ticket.customer_id)
    else:
        others = others.filter(customer_email_hash=ticket.customer_email_hash)
    return others.order_by("-created_at", "-id")


# --- knowledge base articles of tickets (staff only) ------------------------------------------


def articles_of(ticket: Ticket):
    """The articles linked to `ticket`, most recent first, with who linked them."""
    return (
        TicketArticle.objects.filter(ticket=ticket)
        .select_related("article", "linked_by")
        .order_by("-linked_at", "-pk")
    )


def tickets_of_article(user, article, *, limit: int = 10) -> tuple[int, list[TicketArticle]]:
    """How many tickets `user` may see the article served, and the `limit` most recent links
    (with their ticket), in two queries."""
    links = TicketArticle.objects.filter(
        article=article, ticket__in=Ticket.objects.visible_to(user).values("pk")
    )
    recent = links.select_related("ticket").only(
        "how", "linked_at", "ticket__number", "ticket__subject", "ticket__status"
    )
    return links.count(), list(recent.order_by("-linked_at", "-pk")[:limit])
