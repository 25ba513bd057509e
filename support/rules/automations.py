"""Automations: the beat job that fires time-based rules on the tickets that fell due.

For each enabled automation, in order, the job selects the tickets whose anchor time is at
least `after_minutes` ago, that match its conditions (as SQL, `conditions.as_q`) and that it
has not fired on for that anchor time, with one query per batch. Each firing is claimed with
one `INSERT ... ON CONFLICT DO NOTHING` on its key (`a:<rule>:<ticket>:<anchor>`), so an
automation fires once per ticket and condition even when two runs overlap: the second one's
insert finds the key taken (waiting for the first to commit if need be) and skips the ticket.
The tickets are locked `FOR UPDATE SKIP LOCKED`, so concurrent runs mostly take disjoint rows.

A failing automation is rolled back (its batch) and disabled with a notice, like a trigger.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.internals.insert import insert_ignoring_conflicts

from ..models import Ticket
from ..models.rules import Rule, RuleFiring, RuleKind
from . import actions as rule_actions
from .conditions import Facts, as_q
from .engine import _running, author_may_run, disable_after_error, simulate

logger = logging.getLogger(__name__)
BATCH = 200
MAX_BATCHES = 10


@dataclass
class AutomationRun:
    fired: dict[int, int] = field(default_factory=dict)
    failed: list[int] = field(default_factory=list)


def due_tickets(rule: Rule, *, now):
    """The tickets `rule` is due to fire on now, not yet fired on for their anchor time."""
    anchor = rule.anchor
    cutoff = now - timedelta(minutes=rule.after_minutes)
    due = Ticket.objects.filter(**{f"{anchor}__lte": cutoff}).filter(as_q(rule))
    if rule.pk is not None:  # an unsaved rule (a preview) has fired on nothing
        fired = RuleFiring.objects.filter(
            rule=rule, ticket=OuterRef("pk"), anchor_at=OuterRef(anchor)
        )
        due = due.exclude(Exists(fired))
    return due.order_by(anchor, "pk")


def firing_key(rule: Rule, ticket: Ticket) -> str:
    return f"a:{rule.pk}:{ticket.pk}:{getattr(ticket, rule.anchor).isoformat()}"


def _run_batch(rule: Rule, *, now, batch_size: int) -> tuple[int, int]:
    """One batch in one transaction: (tickets selected, firings done)."""
    with transaction.atomic():
        tickets = list(
            due_tickets(rule, now=now)
            .select_related("category", "organization", "team", "sla_policy__calendar")
            .select_for_update(skip_locked=True, of=("self",))[:batch_size]
        )
        if not tickets:
            return 0, 0
        plans = {ticket.pk: simulate(rule, ticket) or [] for ticket in tickets}
        claimed = insert_ignoring_conflicts(
            RuleFiring,
            [
                RuleFiring(
                    key=firing_key(rule, t),
                    rule=rule,
                    ticket=t,
                    fired_at=now,
                    effects=plans[t.pk],
                    anchor_at=getattr(t, rule.anchor),
                )
                for t in tickets
            ],
            fields=[
                RuleFiring._meta.get_field(n)
                for n in ("key", "rule", "ticket", "fired_at", "effects", "anchor_at")
            ],
            returning=[RuleFiring._meta.get_field("ticket")],
        )
        claimed_ids = {row[0] for row in claimed}
        author_may_run(rule)
        token = _running.set((rule.pk,))
        try:
            for ticket in tickets:
                if ticket.pk not in claimed_ids:
                    continue
                facts = Facts(ticket=ticket, event="", actor_kind="system")
                for index, action in enumerate(rule.actions):
                    effect = rule_actions.plan(action, facts)
                    if effect is None:
                        continue
                    rule_actions.execute(
                        effect,
                        action,
                        ticket=ticket,
                        actor=rule.author,
                        rule=rule,
                        key=f"rule:{firing_key(rule, ticket)}:{index}",
                    )
                    ticket = Ticket.objects.select_related("category", "organization", "team").get(
                        pk=ticket.pk
                    )
                    facts.ticket, facts.tags = ticket, None
        finally:
            _running.reset(token)
        return len(tickets), len(claimed_ids)


def run_automations(
    *, now=None, batch_size: int = BATCH, max_batches: int = MAX_BATCHES
) -> AutomationRun:
    """Fire every enabled automation on its due tickets (bounded: batches × batch size each)."""
    now = now or timezone.now()
    run = AutomationRun()
    for rule in Rule.objects.automations().filter(enabled=True).in_order().select_related("author"):
        fired = 0
        try:
            for _ in range(max_batches):
                selected, done = _run_batch(rule, now=now, batch_size=batch_size)
                fired += done
                if selected < batch_size:
                    break
        except Exception as exc:
            logger.info("Automation %s failed", rule.pk, exc_info=True)
            with transaction.atomic():
                disable_after_error(rule, exc)
            run.failed.append(rule.pk)
        if fired:
            run.fired[rule.pk] = fired
    return run


RESOLVED_CONDITION = {"field": "status", "op": "is", "value": "resolved"}


def auto_close_days() -> int | None:
    """In how many days an enabled automation closes every resolved ticket (the soonest, in
    whole days), or None when none does: what the "resolved" e-mail may promise the customer.
    An automation with conditions beyond "status is resolved" closes only some: it promises
    nothing."""
    soonest = None
    rules = Rule.objects.filter(
        kind=RuleKind.AUTOMATION, enabled=True, archived_at__isnull=True, anchor="resolved_at"
    ).values_list("after_minutes", "actions", "conditions")
    for after_minutes, actions, conditions in rules:
        closes = any(
            a.get("type") == "set_status" and a.get("value") == "closed" for a in actions or []
        )
        general = all(c == RESOLVED_CONDITION for c in conditions or [])
        if closes and general and (soonest is None or after_minutes < soonest):
            soonest = after_minutes
    return None if soonest is None else max(1, round(soonest / (24 * 60)))
