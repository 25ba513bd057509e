"""The ticket history in words for the desk: what changed, from what to what, by whom, and
whether a person or the system did it. Names behind ids are read for the whole page at once
(one query per kind of name), so the history costs the same at 5 events and at 100."""

from dataclasses import dataclass
from datetime import datetime

from core.models import User

from .models import Category, Team, TicketEvent
from .models.choices import Priority, Status

Kind = TicketEvent.Kind
_LABELS = {
    "status": dict(Status.choices),
    "priority": dict(Priority.choices),
}
_FIELD_NAMES = {
    "assigned_to": "Assignee",
    "team": "Team",
    "category": "Category",
    "tags": "Tags",
    "subject": "Subject",
    "channel": "Channel",
    "priority": "Priority",
    "status": "Status",
    "customer": "Customer",
}


_CONTACT_KINDS = {
    Kind.CREATED,
    Kind.REPLIED,
    Kind.RATED,
    Kind.ACCESS_LINK_OPENED,
    Kind.ATTACHMENT_ADDED,
}


@dataclass(frozen=True)
class EventLine:
    at: datetime
    what: str  # "Priority: Medium → High"
    who: str  # "Avery Agent", or "automatic"
    automatic: bool
    note: str


def _names(events) -> dict[str, dict]:
    ids = {"user": set(), "team": set(), "category": set()}
    for event in events:
        for side in (event.before or {}, event.after or {}):
            for key, kind in (
                ("assigned_to", "user"),
                ("customer", "user"),
                ("team", "team"),
                ("category", "category"),
            ):
                if isinstance(side.get(key), int):
                    ids[kind].add(side[key])
    return {
        "user": {u.pk: u.display_name for u in User.objects.filter(pk__in=ids["user"])}
        if ids["user"]
        else {},
        "team": dict(Team.objects.filter(pk__in=ids["team"]).values_list("pk", "name"))
        if ids["team"]
        else {},
        "category": dict(Category.objects.filter(pk__in=ids["category"]).values_list("pk", "name"))
        if ids["category"]
        else {},
    }


def _value(key: str, value, names) -> str:
    if value in (None, "", []):
        return "none"
    if key in ("assigned_to", "customer"):
        return names["user"].get(value, f"#{value}")
    if key in ("team", "category"):
        return names[key].get(value, f"#{value}")
    if key in _LABELS:
        return _LABELS[key].get(value, str(value))
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _changes(event, names) -> str:
    before, after = event.before or {}, event.after or {}
    parts = []
    for key in after:
        if key not in _FIELD_NAMES or before.get(key) == after.get(key) and key in before:
            continue
        label = _FIELD_NAMES[key]
        if key in before:
            parts.append(
                f"{label}: {_value(key, before[key], names)} → {_value(key, after[key], names)}"
            )
        else:
            parts.append(f"{label}: {_value(key, after[key], names)}")
    return "; ".join(parts)


def history(events) -> list[EventLine]:
    events = list(events)
    names = _names(events)
    lines = []
    for event in events:
        what = event.get_kind_display()
        detail = ""
        if event.kind in (
            Kind.STATUS_CHANGED,
            Kind.PRIORITY_CHANGED,
            Kind.UPDATED,
            Kind.ASSIGNED,
            Kind.UNASSIGNED,
        ):
            detail = _changes(event, names)
        elif event.kind == Kind.ESCALATED:
            detail = f"to level {(event.after or {}).get('escalation_level', '?')}"
        elif event.kind == Kind.MERGED:
            detail = f"{(event.after or {}).get('source')} into {(event.after or {}).get('target')}"
        elif event.kind == Kind.LINKED:
            detail = f"to {(event.after or {}).get('target')}"
        elif event.kind == Kind.ATTACHMENT_ADDED:
            detail = (event.after or {}).get("name", "")
        elif event.kind == Kind.RATED:
            detail = f"{(event.after or {}).get('rating')}/5"
        # No actor: the system, or a customer without an account (e-mail, e-mailed link),
        # whose own kinds of event say so.
        by_contact = event.actor_id is None and event.kind in _CONTACT_KINDS
        automatic = event.actor_id is None and not by_contact
        who = (
            event.actor.display_name
            if event.actor_id
            else "the customer"
            if by_contact
            else "automatic"
        )
        lines.append(
            EventLine(
                at=event.created_at,
                what=f"{what}: {detail}" if detail else what,
                who=who,
                automatic=automatic,
                note=event.note,
            )
        )
    return lines
