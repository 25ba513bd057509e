"""Writing rules: every change audited with a snapshot of the new version.

The editor becomes the rule's author: a rule acts with the rights of whoever last shaped it,
checked when it is saved (each action against the editor's role) and again when it runs.
"""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core import audit
from core.errors import Conflict, DomainError

from .. import permissions
from ..models.rules import Anchor, Match, Rule, RuleEvent, RuleKind, TriggerEvent
from . import actions, conditions

EditKind = RuleEvent.Kind
SNAPSHOT_FIELDS = (
    "name",
    "description",
    "enabled",
    "match",
    "conditions",
    "actions",
    "events",
    "stop_processing",
    "anchor",
    "after_minutes",
    "position",
)
MAX_AFTER_MINUTES = 366 * 24 * 60


def snapshot(rule: Rule) -> dict:
    return {name: getattr(rule, name) for name in SNAPSHOT_FIELDS} | {"author": rule.author_id}


def _clean(kind: str, data: dict, *, author) -> dict:
    name = str(data.get("name", "")).strip()
    if not name or len(name) > 200:
        raise DomainError(
            "A rule needs a name (at most 200 characters).",
            code="invalid_rule",
            errors={"name": ["Required."]},
        )
    match = data.get("match", Match.ALL)
    if match not in Match.values:
        raise DomainError(
            "match is all or any.", code="invalid_rule", errors={"match": ["all or any."]}
        )
    automation = kind == RuleKind.AUTOMATION
    cleaned = {
        "name": name,
        "description": str(data.get("description", ""))[:2000],
        "match": match,
        "conditions": conditions.clean(data.get("conditions", []), for_automation=automation),
        "actions": actions.clean(data.get("actions"), author=author, for_automation=automation),
        "stop_processing": bool(data.get("stop_processing", False)) and not automation,
    }
    if automation:
        anchor, after = data.get("anchor"), data.get("after_minutes")
        if anchor not in Anchor.values:
            raise DomainError(
                f"anchor is one of: {', '.join(Anchor.values)}.",
                code="invalid_rule",
                errors={"anchor": ["Invalid."]},
            )
        if (
            not isinstance(after, int)
            or isinstance(after, bool)
            or not 1 <= after <= MAX_AFTER_MINUTES
        ):
            raise DomainError(
                "after_minutes is a whole number of minutes, 1 to a year.",
                code="invalid_rule",
                errors={"after_minutes": ["Invalid."]},
            )
        cleaned |= {"anchor": anchor, "after_minutes": after, "events": []}
    else:
        events = data.get("events")
        if (
            not isinstance(events, list)
            or not events
            or any(e not in TriggerEvent.values for e in events)
        ):
            raise DomainError(
                f"A trigger listens to one or more of: {', '.join(TriggerEvent.values)}.",
                code="invalid_rule",
                errors={"events": ["Invalid."]},
            )
        cleaned |= {
            "events": sorted(set(events), key=TriggerEvent.values.index),
            "anchor": "",
            "after_minutes": None,
        }
    return cleaned


def _record(rule: Rule, kind: str, *, by, before=None) -> None:
    audit.record(
        RuleEvent,
        rule=rule,
        kind=kind,
        actor=by,
        version=rule.version,
        before=before or {},
        after=snapshot(rule),
    )


@transaction.atomic
def create_rule(*, by, kind: str, data: dict) -> Rule:
    """A new rule, disabled unless `data["enabled"]`, placed last; audited as version 1."""
    if by is not None:
        permissions.can_edit_rules.require(by)
    if kind not in RuleKind.values:
        raise DomainError("kind is trigger or automation.", code="invalid_rule")
    cleaned = _clean(kind, data, author=by)
    last = Rule.objects.live().filter(kind=kind).aggregate(m=Max("position"))["m"]
    rule = Rule.objects.create(
        kind=kind,
        author=by,
        enabled=bool(data.get("enabled", False)),
        position=0 if last is None else last + 1,
        **cleaned,
    )
    _record(rule, EditKind.CREATED, by=by)
    return rule


def _lock(rule: Rule) -> Rule:
    locked = Rule.objects.select_for_update().filter(pk=rule.pk, archived_at__isnull=True).first()
    if locked is None:
        raise Conflict("This rule was archived.", code="rule_archived")
    return locked


@transaction.atomic
def update_rule(*, rule: Rule, by, data: dict) -> Rule:
    """Replace the rule's definition (fields missing from `data` keep their value); a new
    version when anything changed. The editor becomes the author."""
    permissions.can_edit_rules.require(by)
    rule = _lock(rule)
    before = snapshot(rule)
    merged = {name: data.get(name, getattr(rule, name)) for name in SNAPSHOT_FIELDS}
    cleaned = _clean(rule.kind, merged, author=by)
    if "enabled" in data:
        cleaned["enabled"] = bool(data["enabled"])
    changed = {k: v for k, v in cleaned.items() if getattr(rule, k) != v}
    if not changed and rule.author_id == by.pk:
        return rule
    for name, value in changed.items():
        setattr(rule, name, value)
    if changed.get("enabled"):
        rule.disabled_reason = ""
    rule.author = by
    rule.version += 1
    rule.save()
    _record(rule, EditKind.CHANGED, by=by, before=before)
    return rule


@transaction.atomic
def set_enabled(*, rule: Rule, by, enabled: bool) -> Rule:
    """Enable or disable; enabling re-checks every action against the enabler's rights."""
    permissions.can_edit_rules.require(by)
    rule = _lock(rule)
    if rule.enabled == enabled:
        return rule
    if enabled:
        actions.clean(rule.actions, author=by, for_automation=rule.kind == RuleKind.AUTOMATION)
        rule.author = by
        rule.disabled_reason = ""
    before = {"enabled": rule.enabled}
    rule.enabled = enabled
    rule.version += 1
    rule.save()
    _record(rule, EditKind.ENABLED if enabled else EditKind.DISABLED, by=by, before=before)
    return rule


@transaction.atomic
def move_rule(*, rule: Rule, by, direction: str) -> Rule:
    """Swap the rule with its neighbour above (`up`) or below (`down`) among its kind."""
    permissions.can_edit_rules.require(by)
    if direction not in ("up", "down"):
        raise DomainError(
            "direction is up or down.",
            code="invalid_direction",
            errors={"direction": ["up or down."]},
        )
    # Lock the whole ordered list of this kind (a handful of rows) in one fixed order.
    ordered = list(Rule.objects.live().filter(kind=rule.kind).in_order().select_for_update())
    ids = [r.pk for r in ordered]
    if rule.pk not in ids:
        raise Conflict("This rule was archived.", code="rule_archived")
    index = ids.index(rule.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(ordered):
        return ordered[index]
    ordered[index], ordered[other] = ordered[other], ordered[index]
    now = timezone.now()
    for position, item in enumerate(ordered):
        if item.position != position:
            Rule.objects.filter(pk=item.pk).update(position=position, updated_at=now)
            item.position = position
    moved = ordered[other]
    audit.record(
        RuleEvent,
        rule=moved,
        kind=EditKind.MOVED,
        actor=by,
        version=moved.version,
        before={"position": index},
        after={"position": other},
    )
    from .engine import forget_triggers

    forget_triggers()
    return moved


@transaction.atomic
def archive_rule(*, rule: Rule, by) -> Rule:
    """Take the rule out of service for good; its history stays."""
    permissions.can_edit_rules.require(by)
    rule = _lock(rule)
    rule.enabled = False
    rule.archived_at = timezone.now()
    rule.save()
    _record(rule, EditKind.ARCHIVED, by=by)
    return rule
