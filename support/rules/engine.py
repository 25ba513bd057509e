"""Running triggers: in the creating transaction, and after commit through scheduled work.

- Creation (`on_create`, called by `open_ticket` before the row is written): the creation
  triggers are evaluated in order; their field-setting actions (priority, category, team, tags)
  apply to the new ticket in its own transaction, so it is born with them (and with the SLA of
  the priority they chose). Their other actions are written into a `TriggerRun` row with the
  ticket and run after the commit.
- Every other ticket event (`on_event`, called by `support.events.record`) writes a
  `TriggerRun` row in the changing transaction when an enabled trigger listens to it. The row
  is worked after the commit by `core.scheduling` (a task enqueued on commit, and the minute
  sweep if that task is lost), exactly once.

Safety:
- A rule acts as its author (`Rule.author`), through the services a person uses; an author who
  lost the right (deactivated, no longer a lead) makes the rule fail.
- A rule that fails is rolled back alone (a savepoint), disabled with its error recorded and
  its author and the on-duty leads told; the write that fired it is never blocked.
- Loop guard: the events a rule's own actions cause carry it in `source_rules` and do not fire
  it again; and at most `RULES_MAX_FIRINGS_PER_TICKET_HOUR` firings per ticket per hour.
"""

import contextlib
import copy
import functools
import logging
import uuid
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from core import audit
from core.batch import Sink
from core.internals import on_commit
from core.jobs import enqueue_batched_on_commit
from core.roles import Role, is_staff_member
from core.scheduling import schedule_many

from ..models import Category, Team, Ticket, TicketEvent
from ..models.rules import Rule, RuleEvent, RuleFiring, RuleKind, TriggerEvent, TriggerRun
from . import actions as rule_actions
from .conditions import Facts, matches

logger = logging.getLogger(__name__)
Kind = TicketEvent.Kind

# Which ticket events are which trigger events (CREATED is handled by `on_create`).
EVENT_OF_KIND = {
    Kind.UPDATED: TriggerEvent.UPDATED,
    Kind.PRIORITY_CHANGED: TriggerEvent.UPDATED,
    Kind.ASSIGNED: TriggerEvent.UPDATED,
    Kind.UNASSIGNED: TriggerEvent.UPDATED,
    Kind.REPLIED: TriggerEvent.PUBLIC_REPLY,
    Kind.NOTE_ADDED: TriggerEvent.NOTE,
    Kind.STATUS_CHANGED: TriggerEvent.STATUS_CHANGED,
    Kind.SLA_WARNING: TriggerEvent.SLA_WARNING,
    Kind.SLA_BREACHED: TriggerEvent.SLA_BREACHED,
    Kind.RATED: TriggerEvent.SATISFACTION,
}

# The rules whose actions are running now: the events they cause do not fire them again.
_running: ContextVar[tuple[int, ...]] = ContextVar("support_rules_running", default=())


# --- the enabled triggers, read once per transaction -----------------------------------------


_process_cache: dict = {}


@functools.cache
def _fingerprint_sql() -> str:
    """The fingerprint statement, written once: it runs on every ticket creation, and the ORM
    took ten times as long to build it as the database to answer it (the rules are few). Plain
    SQL that PostgreSQL and SQLite read alike."""
    from django.contrib.auth.models import Group

    from core.models import User

    rule, user, group = Rule._meta.db_table, User._meta.db_table, Group._meta.db_table
    membership = User.groups.through._meta.db_table
    return (
        "SELECT SUM(CASE WHEN r.enabled THEN 1 ELSE 0 END), MAX(r.updated_at), MAX(r.id), "
        "SUM(CASE WHEN r.enabled AND r.author_id IS NOT NULL AND NOT EXISTS ("
        f"SELECT 1 FROM {user} u WHERE u.id = r.author_id AND u.is_active AND (u.is_superuser "
        f"OR EXISTS (SELECT 1 FROM {membership} m JOIN {group} g ON g.id = m.group_id "
        "WHERE m.user_id = u.id AND g.name IN (%s, %s)))) THEN 1 ELSE 0 END) "
        f"FROM {rule} r WHERE r.archived_at IS NULL AND r.kind = %s"
    )


class Triggers(list):
    """The enabled triggers in order, and how many of them have an author who may no longer
    have rules act for them (`unentitled`, read in the same statement as the fingerprint)."""

    unentitled: int = 0


def _load_triggers() -> Triggers:
    """The enabled triggers, from this process's copy while the table's fingerprint (count of
    enabled triggers, latest change, highest id: one index-sized aggregate) is unchanged; rule
    writes go through `services`, which stamp `updated_at`. Loading and decoding fifty rules
    costs more than a ticket creation's own statements; the fingerprint is one small query.

    The same statement counts the enabled triggers whose author is no longer an active lead or
    admin (the rule of `author_may_run`): when none is, a creation checks its rules' authors
    without a query of its own; a lost right still takes effect at the next creation."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_fingerprint_sql(), [Role.SUPPORT_LEAD, Role.ADMIN, RuleKind.TRIGGER])
        *fingerprint, unentitled = cursor.fetchone()
    fingerprint = tuple(fingerprint)
    live = Rule.objects.triggers()
    cached = _process_cache.get("triggers")
    if cached is not None and cached[0] == fingerprint:
        rules = cached[1]
    else:
        rules = list(live.filter(enabled=True).in_order().select_related("author"))
        _process_cache["triggers"] = (fingerprint, rules)
    loaded = Triggers(rules)
    loaded.unentitled = unentitled or 0
    return loaded


def enabled_triggers() -> Triggers:
    """The enabled triggers in order: one query per transaction (a sweep recording hundreds of
    events reads them once); outside a transaction, one per call."""
    if not on_commit.in_transaction():
        return _load_triggers()
    state = on_commit.connection_state("rules")
    entry = state.get("triggers")
    if entry is None or not on_commit.is_pending(entry["forget"]):

        def forget(state=state):
            state.pop("triggers", None)

        transaction.on_commit(forget)
        entry = state["triggers"] = {"forget": forget, "rules": _load_triggers()}
    return entry["rules"]


def forget_triggers(**kwargs) -> None:
    """Drop this connection's memo and the process copy (a rule changed)."""
    on_commit.connection_state("rules").pop("triggers", None)
    _process_cache.pop("triggers", None)


def forget_entitlements(sender=None, **kwargs) -> None:
    """A user's roles or activity changed: this transaction's memo of the triggers (which says
    whether every author is still entitled) is read again; the process copy stays valid."""
    if sender is not None and kwargs.get("update_fields") == frozenset({"last_login"}):
        return
    on_commit.connection_state("rules").pop("triggers", None)


def _connect_entitlements() -> None:
    from core.models import User

    post_save.connect(forget_entitlements, sender=User, dispatch_uid="support.rules.user")
    m2m_changed.connect(
        forget_entitlements, sender=User.groups.through, dispatch_uid="support.rules.groups"
    )


_connect_entitlements()
post_save.connect(forget_triggers, sender=Rule, dispatch_uid="support.rules.forget")
post_delete.connect(forget_triggers, sender=Rule, dispatch_uid="support.rules.forget-deleted")


def actor_kind(actor) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "system"
    return "agent" if is_staff_member(actor) else "customer"


def author_may_run(rule: Rule, checked: dict | None = None) -> None:
    """Raise `RuleError` unless the rule's author may still have rules act for them.

    Asked of the database, one query per author (the rule may come from the process copy, whose
    user has roles cached on it): active, and a support lead, an admin or a superuser (the
    rule of `permissions.can_edit_rules`). `checked` memoises it across one evaluation."""
    from django.db.models import Q

    from core.models import User

    if rule.author_id is None:
        return
    checked = {} if checked is None else checked
    if rule.author_id not in checked:
        checked[rule.author_id] = (
            User.objects.filter(pk=rule.author_id, is_active=True)
            .filter(Q(is_superuser=True) | Q(groups__name__in=[Role.SUPPORT_LEAD, Role.ADMIN]))
            .exists()
        )
    if not checked[rule.author_id]:
        name = rule.author.display_name if rule.author else "Its author"
        raise rule_actions.RuleError(f"{name} may no longer have rules act for them.")


# --- disabling a failing rule ----------------------------------------------------------------


def disable_after_error(rule: Rule, error: BaseException) -> None:
    """Disable `rule`, record why, and tell its author and the on-duty leads (in-app)."""
    from core.notifications import notify_in_app

    from ..notifications import on_duty_leads

    message = f"{type(error).__name__}: {error}"[:1000]
    if not Rule.objects.filter(pk=rule.pk, enabled=True).update(
        enabled=False, disabled_reason=message, updated_at=timezone.now()
    ):
        return
    forget_triggers()
    logger.warning("Rule %s (%s) disabled after an error: %s", rule.pk, rule.name, message)
    audit.record(
        RuleEvent,
        rule=rule,
        kind=RuleEvent.Kind.ERRORED,
        version=rule.version,
        before={"enabled": True},
        after={"enabled": False, "error": message},
    )
    told = {user.pk: user for user in on_duty_leads()}
    if rule.author is not None and rule.author.is_active:
        told.setdefault(rule.author.pk, rule.author)
    for user in told.values():
        notify_in_app(
            key=f"rule:{rule.pk}:v{rule.version}:errored:{uuid.uuid4().hex[:8]}:{user.pk}",
            user=user,
            title=f"Rule “{rule.name}” was disabled after an error",
            body=message,
            url=f"/desk/rules/{rule.pk}/",
        )


# --- creation: in the creating transaction ----------------------------------------------------


def _referenced(rules) -> dict:
    slugs, team_ids = set(), set()
    for rule in rules:
        for action in rule.actions:
            if action["type"] == "set_category":
                slugs.add(action["value"])
            elif action["type"] == "set_team":
                team_ids.add(action["value"])
    return {
        "categories": {c.slug: c for c in Category.objects.filter(slug__in=slugs, is_active=True)}
        if slugs
        else {},
        "teams": {t.pk: t for t in Team.objects.filter(pk__in=team_ids)} if team_ids else {},
    }


_SNAPSHOT = ("priority", "category", "team")


def on_create(ticket: Ticket, *, by, tags: set[str], priority_chosen: bool = False) -> list[dict]:
    """Evaluate the creation triggers on the unsaved `ticket`; apply their field-setting
    actions to it (and to `tags`) at once. Returns the plan to finish after `after_create`."""
    triggers = enabled_triggers()
    rules = [rule for rule in triggers if TriggerEvent.CREATED in rule.events]
    if not rules:
        return []
    facts = Facts(
        ticket=ticket,
        event=TriggerEvent.CREATED,
        actor_kind=actor_kind(by),
        priority_chosen=priority_chosen,
    )
    objects = _referenced(rules)
    plan = []
    # Every author still entitled (the usual case): no per-author query below.
    authors = {} if triggers.unentitled else {rule.author_id: True for rule in rules}
    for rule in rules:
        saved = {name: getattr(ticket, name) for name in _SNAPSHOT}
        saved_tags = set(tags)
        facts.tags = frozenset(tags)
        try:
            if not matches(rule, facts):
                continue
            author_may_run(rule, authors)
            done, later = [], []
            for index, action in enumerate(rule.actions):
                if action["type"] not in rule_actions.FIELD_SETTING:
                    later.append(index)
                    continue
                effect = rule_actions.plan(action, facts, tags=tags)
                if effect is not None:
                    rule_actions.apply_to_new(effect, ticket, tags, objects)
                    done.append(effect)
        except Exception as exc:
            for name, value in saved.items():
                setattr(ticket, name, value)
            tags.clear()
            tags.update(saved_tags)
            disable_after_error(rule, exc)
            continue
        plan.append({"rule": rule.pk, "effects": done, "later": later})
        if rule.stop_processing:
            break
    return plan


def after_create(ticket: Ticket, plan: list[dict], *, by) -> None:
    """With the new ticket saved: record the creation firings, schedule what runs after commit."""
    if not plan:
        return
    key = f"created:{ticket.pk}"
    RuleFiring.objects.bulk_create(
        [
            RuleFiring(
                key=f"t:{entry['rule']}:{key}",
                rule_id=entry["rule"],
                ticket=ticket,
                effects=entry["effects"],
            )
            for entry in plan
        ]
    )
    later = [entry for entry in plan if entry["later"]]
    if later:
        _schedule(ticket, TriggerEvent.CREATED, actor=by, changes={}, plan=later)


# --- every other event: after commit -----------------------------------------------------------


def _write_runs(rows) -> None:
    schedule_many(TriggerRun, rows)


_RUNS = Sink("support:trigger-runs", _write_runs)


def _schedule(ticket, event, *, actor, changes, plan=None) -> None:
    from ..tasks import run_triggers

    _RUNS.add(
        TriggerRun(
            idempotency_key=f"trig:{ticket.pk}:{event}:{uuid.uuid4().hex}",
            due_at=timezone.now(),
            ticket_id=ticket.pk,
            event=event,
            actor=actor if actor is not None and actor.is_authenticated else None,
            actor_kind=actor_kind(actor),
            changes=changes,
            source_rules=list(_running.get()),
            plan=plan,
        )
    )
    enqueue_batched_on_commit(run_triggers, ticket.pk)


def on_event(*, ticket, kind: str, actor, before=None, after=None) -> None:
    """A ticket event was recorded: schedule its triggers if any listens (and may fire)."""
    event = EVENT_OF_KIND.get(kind)
    if event is None:
        return
    running = _running.get()
    if not any(event in rule.events and rule.pk not in running for rule in enabled_triggers()):
        return
    _schedule(ticket, event, actor=actor, changes={"before": before or {}, "after": after or {}})


def _load_ticket(ticket_id: int) -> Ticket | None:
    return (
        Ticket.objects.select_related("category", "organization", "team", "sla_policy__calendar")
        .filter(pk=ticket_id)
        .first()
    )


def over_the_cap(ticket_id: int) -> bool:
    since = timezone.now() - timedelta(hours=1)
    fired = RuleFiring.objects.filter(ticket_id=ticket_id, fired_at__gte=since).count()
    return fired >= settings.RULES_MAX_FIRINGS_PER_TICKET_HOUR


def fire(rule: Rule, ticket: Ticket, facts: Facts, *, key: str, only=None, chain=()) -> bool:
    """Do `rule`'s actions (those at the indexes `only`, or all) on `ticket` as its author.

    In a savepoint: a failure rolls back this rule's work alone and disables it. Returns
    whether it fired (and recorded its `RuleFiring`)."""
    try:
        with transaction.atomic():
            author_may_run(rule)
            token = _running.set((*chain, rule.pk))
            effects = []
            try:
                for index, action in enumerate(rule.actions):
                    if only is not None and index not in only:
                        continue
                    effect = rule_actions.plan(action, facts)
                    if effect is None:
                        continue
                    rule_actions.execute(
                        effect,
                        action,
                        ticket=ticket,
                        actor=rule.author,
                        rule=rule,
                        key=f"rule:{key}:{index}",
                    )
                    effects.append(effect)
                    ticket = _load_ticket(ticket.pk)
                    facts.ticket, facts.tags = ticket, None
            finally:
                _running.reset(token)
            if not effects:
                return False  # matched, with nothing left to do: not a firing
            RuleFiring.objects.create(key=key, rule=rule, ticket=ticket, effects=effects)
        return True
    except Exception as exc:
        logger.info("Rule %s failed on ticket %s", rule.pk, ticket.pk, exc_info=True)
        disable_after_error(rule, exc)
        return False


def handle_run(row: TriggerRun) -> None:
    """Work one `TriggerRun` (the scheduled-work handler; runs in the row's transaction)."""
    ticket = _load_ticket(row.ticket_id)
    if ticket is None:
        return
    chain = tuple(row.source_rules or ())
    facts = Facts(ticket=ticket, event=row.event, actor_kind=row.actor_kind or "system")
    if row.plan is not None:
        rules = {
            r.pk: r
            for r in Rule.objects.triggers()
            .filter(enabled=True, pk__in=[e["rule"] for e in row.plan])
            .select_related("author")
        }
        for entry in row.plan:
            rule = rules.get(entry["rule"])
            if rule is not None:
                fire(
                    rule,
                    facts.ticket,
                    facts,
                    key=f"t:{rule.pk}:{row.idempotency_key}",
                    only=set(entry["later"]),
                    chain=chain,
                )
        return
    for rule in _load_triggers():
        if row.event not in rule.events or rule.pk in chain:
            continue
        if over_the_cap(ticket.pk):
            logger.warning(
                "Ticket %s reached the rule cap for this hour; %s not run", ticket.pk, rule.name
            )
            return
        try:
            matched = matches(rule, facts)
        except Exception as exc:
            disable_after_error(rule, exc)
            continue
        if not matched:
            continue
        if (
            fire(rule, facts.ticket, facts, key=f"t:{rule.pk}:{row.idempotency_key}", chain=chain)
            and rule.stop_processing
        ):
            return


def run_pending():
    """Work the due trigger runs now (the task enqueued on commit; the minute sweep also does)."""
    from core import scheduling

    registration = next(r for r in scheduling.registrations() if r.model is TriggerRun)
    return scheduling.sweep_model(registration)


# --- the dry run's planner ----------------------------------------------------------------------


def simulate(
    rule: Rule, ticket: Ticket, *, event: str | None = None, objects=None
) -> list[dict] | None:
    """What `rule` would do to `ticket` if its event happened now: the effects a real run
    plans, in order, each seeing the ticket as the previous ones left it; None: no match.

    Nothing is written: the ticket is a copy and the field effects apply to it in memory."""
    event = event or (rule.events[0] if rule.events else "")
    facts = Facts(ticket=ticket, event=event, actor_kind="system")
    if not matches(rule, facts):
        return None
    shadow = copy.copy(ticket)
    shadow._state = copy.copy(ticket._state)
    shadow._state.fields_cache = dict(ticket._state.fields_cache)
    tags = set(facts.tag_names())
    facts = Facts(ticket=shadow, event=event, actor_kind="system", tags=frozenset(tags))
    objects = objects if objects is not None else _referenced([rule])
    effects = []
    for action in rule.actions:
        effect = rule_actions.plan(action, facts, tags=tags)
        if effect is None:
            continue
        effects.append(effect)
        if effect["type"] in rule_actions.FIELD_SETTING:
            with contextlib.suppress(rule_actions.RuleError):
                rule_actions.apply_to_new(effect, shadow, tags, objects)
            facts.tags = frozenset(tags)
        elif effect["type"] == "set_status":
            shadow.status = effect["to"]
    return effects
