"""What a rule would do on recent tickets: the planner of a real run, writing nothing."""

from datetime import timedelta

from django.utils import timezone

from .. import permissions
from ..models import Ticket
from ..models.rules import Rule, RuleKind
from . import services
from .automations import due_tickets
from .engine import _referenced, simulate

DRY_RUN_DAYS = 7
DRY_RUN_LIMIT = 200


def unsaved_rule(*, kind: str, data: dict, by) -> Rule:
    """A rule built from `data` (validated as a save would) without writing it."""
    cleaned = services._clean(kind, data, author=by)
    return Rule(kind=kind, author=by, **cleaned)


def dry_run(
    rule: Rule, *, by, days: int = DRY_RUN_DAYS, limit: int = DRY_RUN_LIMIT, event=None
) -> dict:
    """The tickets among the `limit` most recent of the last `days` (those `by` may see) that
    `rule` would act on, each with the effects it would have, in order.

    Triggers: as if `event` (default: its first) happened to each ticket now. Automations: the
    tickets it is due to fire on now (an automation looks at any age of ticket)."""
    permissions.can_edit_rules.require(by)
    if rule.kind == RuleKind.AUTOMATION:
        tickets = list(
            due_tickets(rule, now=timezone.now())
            .filter(pk__in=Ticket.objects.visible_to(by).values("pk"))
            .select_related("category", "organization", "team", "sla_policy__calendar")
            .prefetch_related("tags")[:limit]
        )
    else:
        since = timezone.now() - timedelta(days=days)
        tickets = list(
            Ticket.objects.visible_to(by)
            .filter(created_at__gte=since)
            .select_related("category", "organization", "team", "sla_policy__calendar")
            .prefetch_related("tags")
            .order_by("-created_at", "-pk")[:limit]
        )
    objects = _referenced([rule])
    matched = []
    for ticket in tickets:
        effects = simulate(rule, ticket, event=event, objects=objects)
        if effects is not None:
            matched.append(
                {
                    "ticket": ticket.number,
                    "ticket_id": ticket.pk,
                    "subject": ticket.subject,
                    "effects": effects,
                }
            )
    return {"examined": len(tickets), "matched": len(matched), "tickets": matched}
