"""Category, team and priority suggestions for a ticket, and a person's answer to them.

A suggestion is computed once per ticket and active model (a page reload reads the stored row);
each computation is an interaction row. Accepting applies the value through the ticket services
(`update_ticket`, `change_priority`), with their permissions, locks and audit events; the
suggestion records who accepted or rejected it.
"""

import time
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict, DomainError, NotFound
from support import services as ticket_services
from support.models import Category, Team, Ticket
from support.models.choices import Priority

from . import classifiers, sentiment
from . import logging as ailog
from .models import ModelArtifact, Outcome, Suggestion
from .permissions import can_see_suggestions

PRIORITY_RANK = {Priority.LOW: 0, Priority.MEDIUM: 1, Priority.HIGH: 2, Priority.URGENT: 3}


@dataclass
class Shown:
    suggestion: Suggestion
    label: str
    current: str
    model_macro_f1: float | None


def _current(ticket: Ticket, field: str) -> str:
    if field == "category":
        return ticket.category.slug if ticket.category_id else ""
    if field == "team":
        return ticket.team.slug if ticket.team_id else ""
    return ticket.priority


def _label(field: str, value: str, names: dict) -> str:
    if field == "priority":
        return Priority(value).label if value in Priority.values else value
    return names.get((field, value), value)


def raised_by_sentiment(priority: str, text: str) -> tuple[str, float | None]:
    """One level up for an upset customer writing in English; never down."""
    mood = sentiment.compound(text)
    if mood is not None and mood <= sentiment.UPSET and priority in PRIORITY_RANK:
        ranked = sorted(PRIORITY_RANK, key=PRIORITY_RANK.get)
        priority = ranked[min(PRIORITY_RANK[priority] + 1, len(ranked) - 1)]
    return str(priority), mood


def _compute(ticket: Ticket, artifact: ModelArtifact, *, user) -> Suggestion | None:
    started = time.perf_counter()
    model = classifiers.load(artifact)
    text = classifiers.ticket_text(ticket.subject, ticket.description_text)
    labels, confidence = classifiers.predict(model, [text], artifact.metrics.get("confidence_map"))
    value, score = labels[0], confidence[0]
    mood = None
    if artifact.target == "priority":
        value, mood = raised_by_sentiment(value, text)
    latency = (time.perf_counter() - started) * 1000
    ailog.record(
        feature=f"suggest_{artifact.target}",
        provider="local",
        model_requested=f"{artifact.target}-classifier",
        model_returned=f"{artifact.target}-classifier",
        model_version=artifact.sha256,
        user=user,
        ticket=ticket,
        prompt=text,
        response=value if mood is None else f"{value} (sentiment {mood:+.2f})",
        latency_ms=latency,
        confidence=score,
        outcome=Outcome.SUCCESS,
    )
    return Suggestion.objects.create(
        ticket=ticket, field=artifact.target, value=value, confidence=score, artifact=artifact
    )


def suggestions_for(*, ticket: Ticket, user) -> list[Shown]:
    """The ticket's suggestions from the active models, computed on first sight; a suggestion
    equal to the ticket's current value is not shown (nothing to accept)."""
    can_see_suggestions.require(user, ticket)
    active = list(
        ModelArtifact.objects.filter(is_active=True, target__in=classifiers.TARGETS).defer("blob")
    )
    if not active:
        return []
    known = {
        (s.field, s.artifact_id): s
        for s in Suggestion.objects.filter(ticket=ticket, artifact__in=active)
    }
    names = {("category", c.slug): c.name for c in Category.objects.all()}
    names.update({("team", t.slug): t.name for t in Team.objects.all()})
    shown = []
    for artifact in sorted(active, key=lambda a: classifiers.TARGETS.index(a.target)):
        suggestion = known.get((artifact.target, artifact.pk))
        if suggestion is None:
            suggestion = _compute(ticket, artifact, user=user)
        current = _current(ticket, suggestion.field)
        if suggestion.state == Suggestion.State.PENDING and suggestion.value == current:
            continue
        if suggestion.state != Suggestion.State.PENDING:
            continue
        if suggestion.field == "priority" and PRIORITY_RANK.get(
            suggestion.value, -1
        ) <= PRIORITY_RANK.get(current, -1):
            continue  # a priority suggestion may raise the ticket's priority, never lower it
        shown.append(
            Shown(
                suggestion,
                _label(suggestion.field, suggestion.value, names),
                current,
                (artifact.metrics.get("model") or {}).get("macro_f1"),
            )
        )
    return shown


def _pending(ticket: Ticket, field: str) -> Suggestion:
    suggestion = (
        Suggestion.objects.select_for_update()
        .filter(ticket=ticket, field=field, artifact__is_active=True)
        .order_by("-created_at")
        .first()
    )
    if suggestion is None:
        raise NotFound(f"No {field} suggestion for this ticket.")
    if suggestion.state != Suggestion.State.PENDING:
        raise Conflict(f"This suggestion was already {suggestion.state}.")
    return suggestion


@transaction.atomic
def accept(*, ticket: Ticket, field: str, by, from_triage: bool = False) -> Ticket:
    """Apply the pending suggestion through the ticket services (their permission checks and
    events); the suggestion becomes a person's label (`accepted`). Accepted in the queue's
    triage (one click, the ticket unread) it is `applied`: the model's label, not training data
    until a person confirms it on the ticket (`confirm`)."""
    can_see_suggestions.require(by, ticket)
    if field not in classifiers.TARGETS:
        raise DomainError(f"Unknown field {field!r}.", errors={"field": ["Invalid."]})
    suggestion = _pending(ticket, field)
    if field == "category":
        category = Category.objects.filter(slug=suggestion.value, is_active=True).first()
        if category is None:
            raise Conflict("The suggested category no longer exists.")
        ticket = ticket_services.update_ticket(ticket=ticket, by=by, category=category)
    elif field == "team":
        team = Team.objects.filter(slug=suggestion.value).first()
        if team is None:
            raise Conflict("The suggested team no longer exists.")
        ticket = ticket_services.update_ticket(ticket=ticket, by=by, team=team)
    else:
        ticket = ticket_services.change_priority(
            ticket=ticket,
            by=by,
            priority=suggestion.value,
            note=f"AI suggestion accepted ({suggestion.confidence:.0%} confidence).",
        )
    suggestion.state = Suggestion.State.APPLIED if from_triage else Suggestion.State.ACCEPTED
    suggestion.decided_by = by
    suggestion.decided_at = timezone.now()
    suggestion.save(update_fields=["state", "decided_by", "decided_at"])
    return ticket


@transaction.atomic
def reject(*, ticket: Ticket, field: str, by) -> None:
    can_see_suggestions.require(by, ticket)
    suggestion = _pending(ticket, field)
    suggestion.state = Suggestion.State.REJECTED
    suggestion.decided_by = by
    suggestion.decided_at = timezone.now()
    suggestion.save(update_fields=["state", "decided_by", "decided_at"])


@transaction.atomic
def confirm(*, ticket: Ticket, field: str, by) -> Suggestion:
    """A person confirms a value applied in triage while it is still the ticket's: from now on
    it is a person's label (`confirmed`, training data)."""
    can_see_suggestions.require(by, ticket)
    suggestion = (
        Suggestion.objects.select_for_update()
        .filter(ticket=ticket, field=field, state=Suggestion.State.APPLIED)
        .order_by("-created_at")
        .first()
    )
    if suggestion is None:
        raise NotFound(f"No {field} applied in triage waits for confirmation.")
    ticket.refresh_from_db()
    if _current(ticket, field) != suggestion.value:
        raise Conflict(f"The ticket's {field} has changed since: nothing to confirm.")
    suggestion.state = Suggestion.State.CONFIRMED
    suggestion.decided_by = by
    suggestion.decided_at = timezone.now()
    suggestion.save(update_fields=["state", "decided_by", "decided_at"])
    return suggestion


def unconfirmed_for(ticket: Ticket) -> list[Shown]:
    """Values applied in triage, still the ticket's, waiting for a person's confirmation."""
    waiting = list(
        Suggestion.objects.filter(ticket=ticket, state=Suggestion.State.APPLIED).order_by("pk")
    )
    if not waiting:
        return []
    names = _names()
    return [
        Shown(s, _label(s.field, s.value, names), s.value, None)
        for s in waiting
        if _current(ticket, s.field) == s.value
    ]


def _names() -> dict:
    names = {("category", c.slug): c.name for c in Category.objects.only("slug", "name")}
    names.update({("team", t.slug): t.name for t in Team.objects.only("slug", "name")})
    return names


# --- triage: the unassigned queue's suggestions ---------------------------------------------

TRIAGE_BATCH = 500


def suggest_new_tickets(*, limit: int = TRIAGE_BATCH) -> dict:
    """Every few minutes: suggestions for open, unassigned tickets that have none from the
    active models yet, predicted in one batch per model (each an interaction row), so the
    triage queue reads stored rows only. Cost follows the new tickets."""
    from django.db.models import Exists, OuterRef

    from support.models.choices import ACTIVE_STATUSES

    from .models import AIInteraction

    made = {}
    active = ModelArtifact.objects.filter(is_active=True, target__in=classifiers.TARGETS).defer(
        "blob"
    )
    for artifact in active:
        known = Suggestion.objects.filter(ticket=OuterRef("pk"), artifact=artifact)
        tickets = list(
            Ticket.objects.filter(status__in=ACTIVE_STATUSES, assigned_to=None, merged_into=None)
            .exclude(Exists(known))
            .order_by("-created_at")
            .only("pk", "subject", "description_text")[:limit]
        )
        if not tickets:
            made[artifact.target] = 0
            continue
        started = time.perf_counter()
        model = classifiers.load(artifact)
        texts = [classifiers.ticket_text(t.subject, t.description_text) for t in tickets]
        values, scores = classifiers.predict(model, texts, artifact.metrics.get("confidence_map"))
        if artifact.target == "priority":
            values = [
                raised_by_sentiment(v, text)[0] for v, text in zip(values, texts, strict=True)
            ]
        each_ms = (time.perf_counter() - started) * 1000 / len(tickets)
        AIInteraction.objects.bulk_create(
            [
                AIInteraction(
                    feature=f"suggest_{artifact.target}",
                    provider="local",
                    model_requested=f"{artifact.target}-classifier",
                    model_returned=f"{artifact.target}-classifier",
                    model_version=artifact.sha256,
                    ticket=t,
                    prompt=ailog.stored_content(text),
                    response=value,
                    latency_ms=each_ms,
                    confidence=score,
                    outcome=Outcome.SUCCESS,
                )
                for t, text, value, score in zip(tickets, texts, values, scores, strict=True)
            ]  # fmt: skip
        )
        Suggestion.objects.bulk_create(
            [
                Suggestion(
                    ticket=t,
                    field=artifact.target,
                    value=value,
                    confidence=score,
                    artifact=artifact,
                )
                for t, value, score in zip(tickets, values, scores, strict=True)
            ]  # fmt: skip
        )
        made[artifact.target] = len(tickets)
    return made


def attach_triage(tickets) -> None:
    """`ticket.ai_triage` for a queue page: the pending suggestions worth showing, as
    (field, value, label, confidence). Three queries whatever the page holds."""
    tickets = list(tickets)
    if not tickets:
        return
    pending = list(
        Suggestion.objects.filter(
            ticket_id__in=[t.pk for t in tickets],
            state=Suggestion.State.PENDING,
            artifact__is_active=True,
        )
        .order_by("ticket_id", "field", "-created_at")
        .values_list("ticket_id", "field", "value", "confidence")
    )
    slugs = {}
    names = {}
    for c in Category.objects.only("pk", "slug", "name"):
        slugs[("category", c.pk)] = c.slug
        names[("category", c.slug)] = c.name
    for t in Team.objects.only("pk", "slug", "name"):
        slugs[("team", t.pk)] = t.slug
        names[("team", t.slug)] = t.name
    by_ticket: dict = {}
    for ticket_id, field, value, confidence in pending:
        by_ticket.setdefault(ticket_id, {}).setdefault(field, (value, confidence))
    for ticket in tickets:
        shown = []
        for field in classifiers.TARGETS:
            value, confidence = by_ticket.get(ticket.pk, {}).get(field, (None, 0))
            if value is None:
                continue
            if field == "priority":
                current = ticket.priority
                if PRIORITY_RANK.get(value, -1) <= PRIORITY_RANK.get(current, -1):
                    continue
            else:
                current = slugs.get((field, getattr(ticket, f"{field}_id")), "")
                if value == current:
                    continue
            shown.append((field, value, _label(field, value, names), confidence))
        ticket.ai_triage = shown
