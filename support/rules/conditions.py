"""Conditions a rule may test: one table of fields, each with its operators.

A condition is `{"field": ..., "op": ..., "value": ...}`. `matches` decides it on one ticket
(triggers, dry runs); `as_q` turns the same condition into a queryset filter (automations, so
their job selects only the tickets due). Both read the same table, so they agree.
"""

import re
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core.calendars import Schedule, is_working_instant
from core.errors import DomainError

from ..models.choices import Channel, Priority, Status

SCALAR_OPS = ("is", "is_not", "in", "not_in")
SET_OPS = ("contains_any", "contains_all", "contains_none")
WORD_OPS = ("contains_any", "contains_none")
BOOL_OPS = ("is",)
TIERS = ("enterprise", "professional", "standard", "free", "")
ACTOR_KINDS = ("customer", "agent", "system")
SENTIMENTS = ("negative", "neutral", "positive", "unknown")
# VADER's compound score: at or below this an upset customer (AI assist raises priority there
# too), at or above its mirror a pleased one; text that is not English is "unknown".
CLEAR_TONE = 0.5


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    ops: tuple[str, ...]
    choices: tuple[str, ...] | None = None  # allowed values; None: any (ids, words)
    kind: str = "str"  # str | int | bool | set | words
    in_sql: bool = True  # usable by automations


FIELDS = {
    f.name: f
    for f in [
        Field("category", "Category (slug)", SCALAR_OPS),
        Field("priority", "Priority", SCALAR_OPS, tuple(Priority.values)),
        Field("channel", "Channel", SCALAR_OPS, tuple(Channel.values)),
        Field("status", "Status", SCALAR_OPS, tuple(Status.values)),
        Field("tier", "Customer tier", SCALAR_OPS, TIERS),
        Field("organization", "Organisation (id)", SCALAR_OPS, kind="int"),
        Field("team", "Team (id)", SCALAR_OPS, kind="int"),
        Field("assigned", "Has an assignee", BOOL_OPS, kind="bool"),
        Field("tags", "Tags", SET_OPS, kind="set"),
        Field("text", "Subject or description words", WORD_OPS, kind="words"),
        Field("business_hours", "During business hours", BOOL_OPS, kind="bool", in_sql=False),
        Field("actor", "Who caused the event", SCALAR_OPS, ACTOR_KINDS, in_sql=False),
        # Creation: whether the filer chose the priority (a default rule leaves a choice be).
        Field("priority_chosen", "The filer chose a priority", BOOL_OPS, kind="bool", in_sql=False),
        # The tone of the subject and description (AI assist's lexicon model, English only).
        Field("sentiment", "The customer's tone", SCALAR_OPS, SENTIMENTS, in_sql=False),
    ]
}


@dataclass
class Facts:
    """What a trigger's conditions see: the ticket as it is, and the event that fired."""

    ticket: object
    event: str = ""
    actor_kind: str = "system"
    tags: frozenset[str] | None = None
    at: object = field(default_factory=timezone.now)
    priority_chosen: bool = False

    def sentiment(self) -> str:
        if "sentiment" not in self.__dict__.get("_memo", {}):
            from ..assist.sentiment import compound

            text = f"{self.ticket.subject}. {self.ticket.description_text}"
            score = compound(text)
            if score is None:
                label = "unknown"
            elif score <= -CLEAR_TONE:
                label = "negative"
            elif score >= CLEAR_TONE:
                label = "positive"
            else:
                label = "neutral"
            self.__dict__.setdefault("_memo", {})["sentiment"] = label
        return self.__dict__["_memo"]["sentiment"]

    def tag_names(self) -> frozenset[str]:
        if self.tags is None:
            self.tags = frozenset(tag.name for tag in self.ticket.tags.all())
        return self.tags


def _invalid(message: str, index: int) -> DomainError:
    return DomainError(
        message, code="invalid_rule", errors={"conditions": [f"#{index + 1}: {message}"]}
    )


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def clean(conditions, *, for_automation: bool = False) -> list[dict]:
    """The conditions in canonical form, or a 400 naming the first wrong one."""
    if not isinstance(conditions, list):
        raise DomainError(
            "Conditions are a list.", code="invalid_rule", errors={"conditions": ["A list."]}
        )
    if len(conditions) > 30:
        raise _invalid("At most 30 conditions.", 30)
    cleaned = []
    for index, condition in enumerate(conditions):
        if not isinstance(condition, dict):
            raise _invalid("Each condition is an object with field, op and value.", index)
        spec = FIELDS.get(condition.get("field"))
        if spec is None:
            raise _invalid(f"Unknown field; one of: {', '.join(FIELDS)}.", index)
        if for_automation and not spec.in_sql:
            raise _invalid(f"{spec.label} cannot be used in an automation.", index)
        op = condition.get("op")
        if op not in spec.ops:
            raise _invalid(f"{spec.name} takes one of: {', '.join(spec.ops)}.", index)
        value = condition.get("value")
        if spec.kind == "bool":
            if not isinstance(value, bool):
                raise _invalid(f"{spec.name} takes true or false.", index)
        else:
            many = op in ("in", "not_in") or spec.kind in ("set", "words")
            values = _as_list(value) if many else [value]
            if not values or len(values) > 50:
                raise _invalid("Give between 1 and 50 values.", index)
            if spec.kind == "int":
                if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                    raise _invalid(f"{spec.name} takes ids (numbers).", index)
            else:
                if not all(isinstance(v, str) and len(v) <= 100 for v in values):
                    raise _invalid(f"{spec.name} takes text of up to 100 characters.", index)
                if spec.kind in ("set", "words"):
                    values = [v.strip().lower() for v in values if v.strip()]
                    if not values:
                        raise _invalid("Give at least one word.", index)
                if spec.choices is not None and any(v not in spec.choices for v in values):
                    raise _invalid(f"{spec.name} is one of: {', '.join(spec.choices)}.", index)
            value = values if many else values[0]
        cleaned.append({"field": spec.name, "op": op, "value": value})
    return cleaned


# --- one ticket ------------------------------------------------------------------------------


def _scalar(facts: Facts, name: str):
    ticket = facts.ticket
    if name == "category":
        return ticket.category.slug if ticket.category_id else ""
    if name == "tier":
        return ticket.organization.tier if ticket.organization_id else ""
    if name == "organization":
        return ticket.organization_id
    if name == "team":
        return ticket.team_id
    if name == "assigned":
        return ticket.assigned_to_id is not None
    if name == "actor":
        return facts.actor_kind
    if name == "priority_chosen":
        return facts.priority_chosen
    if name == "sentiment":
        return facts.sentiment()
    if name == "business_hours":
        policy = ticket.sla_policy if ticket.sla_policy_id else None
        if policy is None or policy.calendar_id is None:
            return True  # 24/7
        return is_working_instant(Schedule.from_calendar(policy.calendar), facts.at)
    return getattr(ticket, name)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def holds(condition: dict, facts: Facts) -> bool:
    name, op, value = condition["field"], condition["op"], condition["value"]
    spec = FIELDS[name]
    if spec.kind == "set":
        have = facts.tag_names()
        return _set_op(op, have, value)
    if spec.kind == "words":
        text = f"{facts.ticket.subject} {facts.ticket.description_text}".lower()
        words = _words(text)
        found = [w for w in value if (w in words if " " not in w else w in text)]
        return bool(found) if op == "contains_any" else not found
    actual = _scalar(facts, name)
    if op == "is":
        return actual == value
    if op == "is_not":
        return actual != value
    if op == "in":
        return actual in value
    return actual not in value


def _set_op(op: str, have, wanted) -> bool:
    wanted = set(wanted)
    if op == "contains_any":
        return bool(have & wanted)
    if op == "contains_all":
        return wanted <= have
    return not (have & wanted)


def matches(rule, facts: Facts) -> bool:
    """Whether `rule`'s conditions hold (all, or any; no condition at all always holds)."""
    if not rule.conditions:
        return True
    results = (holds(c, facts) for c in rule.conditions)
    return all(results) if rule.match == "all" else any(results)


# --- as SQL (automations) ---------------------------------------------------------------------

_COLUMNS = {
    "category": "category__slug",
    "priority": "priority",
    "channel": "channel",
    "status": "status",
    "tier": "organization__tier",
    "organization": "organization_id",
    "team": "team_id",
}


def _q(condition: dict) -> Q:
    from ..models import Ticket

    name, op, value = condition["field"], condition["op"], condition["value"]
    if name == "assigned":
        return Q(assigned_to__isnull=not value)
    if name == "tags":
        through = Ticket.tags.through
        any_of = Exists(through.objects.filter(ticket_id=OuterRef("pk"), tag__name__in=value))
        if op == "contains_any":
            return Q(any_of)
        if op == "contains_none":
            return ~Q(any_of)
        q = Q()
        for tag in value:
            q &= Q(Exists(through.objects.filter(ticket_id=OuterRef("pk"), tag__name=tag)))
        return q
    if name == "text":
        q = Q()
        for word in value:
            q |= Q(subject__icontains=word) | Q(description_text__icontains=word)
        return q if op == "contains_any" else ~q
    column = _COLUMNS[name]
    values = _as_list(value)
    positive = Q(**{f"{column}__in": values})
    if name == "tier" and "" in values:
        positive |= Q(organization__isnull=True)  # no organisation reads as tier ""
    # Django's negation keeps the rows whose joined column is NULL, as `_scalar` does.
    return positive if op in ("is", "in") else ~positive


def as_q(rule) -> Q:
    """The rule's conditions as one filter on tickets (only fields with `in_sql`)."""
    if not rule.conditions:
        return Q()
    parts = [_q(c) for c in rule.conditions]
    combined = parts[0]
    for part in parts[1:]:
        combined = (combined & part) if rule.match == "all" else (combined | part)
    return combined
