"""Retention: each registered kind of data (`core.privacy.RetentionKind`) ages out by its policy.

A policy (`RetentionPolicy`) is off until enabled. The hourly beat task schedules one run a day
as core scheduled work (`RetentionWork`, key `retention:<day>:1`); each row works one bounded
batch per enabled kind (the oldest due rows by id) and, while any kind still has due rows,
schedules the next row. A legal hold keeps its rows out of every batch. `dry_run` lists what the
next run would do with the same queries, so a run does exactly what the report showed.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from core import audit, privacy, scheduling

from .models import PrivacyEvent, RetentionPolicy, RetentionWork

BATCH_SIZE = 500
LISTED = 1000


@dataclass
class Plan:
    kind: str
    action: str
    days: int
    cutoff: object
    count: int = 0
    ids: list[int] = field(default_factory=list)


def policies() -> list[tuple[privacy.RetentionKind, RetentionPolicy]]:
    """Every kind with its policy (stored, or the kind's defaults, disabled)."""
    stored = {p.kind: p for p in RetentionPolicy.objects.all()}
    result = []
    for kind in privacy.retention_kinds():
        policy = stored.get(kind.key) or RetentionPolicy(
            kind=kind.key, days=kind.default_days, action=kind.default_action, enabled=False
        )
        result.append((kind, policy))
    return result


def set_policy(*, by, kind: str, days: int, action: str, enabled: bool) -> RetentionPolicy:
    from core.errors import DomainError

    from . import permissions

    permissions.can_manage.require(by)
    known = privacy.retention_kind(kind)
    if action not in known.actions:
        raise DomainError(f"{kind} can only {', '.join(known.actions)}.")
    policy, _ = RetentionPolicy.objects.update_or_create(
        kind=kind, defaults={"days": days, "action": action, "enabled": enabled}
    )
    audit.record(
        PrivacyEvent,
        kind=PrivacyEvent.Kind.POLICY_CHANGED,
        actor=by,
        after={"kind": kind, "days": days, "action": action, "enabled": enabled},
    )
    return policy


def _due(kind, policy, now, holds):
    cutoff = now - timedelta(days=policy.days)
    return cutoff, kind.due(cutoff, holds, policy.action).order_by("pk")


def dry_run(*, now=None, listed: int = LISTED) -> list[Plan]:
    """What the next run would do: per enabled kind, how many rows and the first `listed` ids."""
    from .services import active_holds

    now = now or timezone.now()
    holds = active_holds()
    plans = []
    for kind, policy in policies():
        if not policy.enabled:
            continue
        cutoff, due = _due(kind, policy, now, holds)
        plans.append(
            Plan(
                kind=kind.key,
                action=policy.action,
                days=policy.days,
                cutoff=cutoff,
                count=due.count(),
                ids=list(due.values_list("pk", flat=True)[:listed]),
            )
        )
    return plans


def overview(listed: int = 20) -> list[dict]:
    """Each kind with its policy and what the next run would do (pages and API)."""
    planned = {p.kind: p for p in dry_run(listed=listed)}
    rows = []
    for kind, policy in policies():
        plan = planned.get(kind.key)
        rows.append(
            {
                "kind": kind.key,
                "label": kind.label,
                "action": policy.action,
                "days": policy.days,
                "enabled": policy.enabled,
                "due": plan.count if plan else None,
                "first_ids": plan.ids if plan else [],
            }
        )
    return rows


def run_once(*, now=None, batch_size: int | None = None) -> dict[str, list[int]]:
    """One bounded batch per enabled kind; returns the ids each kind changed."""
    from .services import active_holds

    batch_size = batch_size or BATCH_SIZE
    now = now or timezone.now()
    holds = active_holds()
    done: dict[str, list[int]] = {}
    for kind, policy in policies():
        if not policy.enabled:
            continue
        _, due = _due(kind, policy, now, holds)
        ids = list(due.values_list("pk", flat=True)[:batch_size])
        if ids:
            kind.apply(policy.action, ids)
            done[kind.key] = ids
    if done:
        audit.record(
            PrivacyEvent,
            kind=PrivacyEvent.Kind.RETENTION_RUN,
            metadata={"changed": {k: len(v) for k, v in done.items()}},
        )
    return done


def run_batch(row: RetentionWork) -> None:
    """The scheduled-work handler: one batch, and the next row while anything was full."""
    done = run_once()
    if any(len(ids) >= BATCH_SIZE for ids in done.values()):
        day, sequence = row.idempotency_key.rsplit(":", 1)
        scheduling.schedule(RetentionWork, key=f"{day}:{int(sequence) + 1}", due_at=timezone.now())


def schedule_daily_run(now=None) -> RetentionWork:
    now = now or timezone.now()
    return scheduling.schedule(RetentionWork, key=f"retention:{now:%Y-%m-%d}:1", due_at=now)


# --- inactive contacts: the whole person, through every registered part ------------------------


def _inactive_contacts_due(cutoff, holds: privacy.Holds, action: str):
    from django.db.models import Q

    from core.models import User
    from core.roles import Role

    working = [Role.AGENT, Role.SUPPORT_LEAD, Role.REVIEWER, Role.TECHNICIAN, Role.ADMIN]
    due = (
        User.objects.filter(
            Q(last_login__lt=cutoff) | Q(last_login__isnull=True, date_joined__lt=cutoff)
        )
        .exclude(groups__name__in=working)
        .exclude(is_staff=True)
        .exclude(email__endswith=f"@{privacy.ERASED_DOMAIN}")
        # Still in touch: a ticket of theirs changed since the cutoff.
        .exclude(tickets__updated_at__gte=cutoff)
    )
    if holds.organization_ids:
        due = due.exclude(organization_id__in=holds.organization_ids)
        due = due.exclude(tickets__organization_id__in=holds.organization_ids)
    if holds.ticket_ids:
        due = due.exclude(tickets__pk__in=holds.ticket_ids)
    return due


def _apply_inactive_contacts(action: str, pks: list[int]) -> int:
    from core.models import User

    from .services import active_holds

    holds = active_holds()
    count = 0
    for user in User.objects.filter(pk__in=pks):
        subject = privacy.Subject.of_user(user, tag=f"u{user.pk}")
        for part in privacy.parts():
            if part.erase:
                part.erase(subject, holds)
        count += 1
    return count


privacy.register_retention(
    privacy.RetentionKind(
        key="privacy.inactive_contacts",
        label="Inactive customer accounts (erased through every part)",
        actions=("anonymise",),
        default_days=1095,
        default_action="anonymise",
        due=_inactive_contacts_due,
        apply=_apply_inactive_contacts,
    )
)


# --- audit events: every domain's, deleted after their age, retired in the hash chain ---------

AUDIT_DAYS = 2555  # seven years


def _audit_due(model):
    from core.privacy_parts import unguarded

    has_ticket = any(f.name == "ticket" for f in model._meta.concrete_fields)

    def due(cutoff, holds: privacy.Holds, action: str):
        rows = unguarded(model).filter(created_at__lt=cutoff)
        if has_ticket:  # a held ticket keeps its history
            rows = rows.filter(holds.ticket_filter("ticket__"))
        return rows

    return due


def _audit_apply(model):
    from django.db import transaction

    from core.privacy_parts import unguarded

    from . import chain

    def apply(action: str, pks: list[int]) -> int:
        with transaction.atomic():
            chain.retire(model, pks, reason="retention")
            return unguarded(model).filter(pk__in=pks).delete()[0]

    return apply


def register_audit_kinds() -> None:
    """A kind per audit table (`audit.<app>.<model>`), off until a lead enables it: the events
    older than the policy's age are deleted and retired in the hash chain, so the chain still
    verifies and shows what went; a held ticket's history stays."""
    from . import chain

    for model in chain.audit_models():
        privacy.register_retention(
            privacy.RetentionKind(
                key=f"audit.{model._meta.label_lower}",
                label=f"Audit events: {model._meta.verbose_name_plural}",
                actions=("delete",),
                default_days=AUDIT_DAYS,
                default_action="delete",
                due=_audit_due(model),
                apply=_audit_apply(model),
            )
        )
