"""Snapshots of tickets for the metrics, loaded in bulk: three queries for any number of tickets
(the tickets, their status changes and escalations, their public agent replies)."""

from collections import defaultdict

from support.models import Ticket, TicketEvent, TicketMessage

from .metrics import Snapshot

TICKET_FIELDS = (
    "id",
    "created_at",
    "status",
    "team_id",
    "assigned_to_id",
    "priority",
    "category_id",
    "channel",
    "merged_into_id",
    "resolved_at",
    "first_responded_at",
    "first_response_working_minutes",
    "resolution_working_minutes",
    "response_target_minutes",
    "resolution_target_minutes",
    "response_breached",
    "resolution_breached",
    "response_breached_at",
    "resolution_breached_at",
    "satisfaction_rating",
    "nps_score",
    "rated_at",
)
EVENT_KINDS = (TicketEvent.Kind.STATUS_CHANGED, TicketEvent.Kind.ESCALATED)


def snapshots(ticket_ids) -> list[Snapshot]:
    ids = list(ticket_ids)
    if not ids:
        return []
    rows = Ticket.objects.filter(pk__in=ids).order_by().values(*TICKET_FIELDS)
    changes, escalations, replies = defaultdict(list), defaultdict(list), defaultdict(list)
    events = (
        TicketEvent.objects.filter(ticket_id__in=ids, kind__in=EVENT_KINDS)
        .order_by("created_at", "id")
        .values_list("ticket_id", "kind", "created_at", "before", "after")
    )
    for ticket_id, kind, created_at, before, after in events:
        if kind == TicketEvent.Kind.STATUS_CHANGED:
            changes[ticket_id].append(
                (created_at, (before or {}).get("status"), (after or {}).get("status"))
            )
        else:
            escalations[ticket_id].append((created_at, (after or {}).get("escalation_level", 0)))
    messages = (
        TicketMessage.objects.filter(ticket_id__in=ids, sender_type="agent", is_internal=False)
        .order_by("created_at", "id")
        .values_list("ticket_id", "created_at", "author_id")
    )
    for ticket_id, created_at, author_id in messages:
        replies[ticket_id].append((created_at, author_id))
    found = []
    for row in rows:
        pk = row.pop("id")
        merged = row.pop("merged_into_id") is not None
        found.append(
            Snapshot(
                ticket_id=pk,
                merged=merged,
                status_changes=changes[pk],
                replies=replies[pk],
                escalations=escalations[pk],
                **row,
            )
        )
    return found
