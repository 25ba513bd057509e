"""Desk pages of AI assist: the suggestions panel beside a ticket and its one-click answers."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from core.errors import DomainError
from support.models.choices import ACTIVE_STATUSES
from support.selectors import tickets_for, with_number

from . import breach, drafts, retrieval, selectors, suggestions
from .models import FIELD_CHOICES, DraftOutcome
from .permissions import can_see_suggestions, can_see_usage


def suggestions_panel(request, ticket):
    """The ticket's pending suggestions with their confidence (a ticket page panel)."""
    user = getattr(request, "user", None)
    if not can_see_suggestions(user, ticket):
        return None
    shown = suggestions.suggestions_for(ticket=ticket, user=user)
    unconfirmed = suggestions.unconfirmed_for(ticket)
    risk = None
    if ticket.status in ACTIVE_STATUSES:
        risk = breach.risk_of(ticket)
    # Passages that may answer the customer (internal ones too: the reader is staff).
    question = f"{ticket.subject}\n{ticket.description_text}"
    passages = [
        p
        for p in retrieval.search(question, user=user, public_only=False, limit=3)
        if p.score >= settings.AI_ANSWER_THRESHOLD
    ]
    return "assist/_suggestions_panel.html", {
        "ai_suggestions": shown,
        "ai_unconfirmed": unconfirmed,
        "ai_ticket": ticket,
        "ai_breach_risk": risk,
        "ai_passages": passages,
        "ai_drafts": drafts.available(),
    }


def _draft_ticket(request, number):
    ticket = with_number(tickets_for(request.user), number).first()
    if ticket is None or not can_see_suggestions(request.user, ticket):
        raise Http404("No such ticket.")
    return ticket


def _draft_answer(request, ticket, context, status=200):
    context = {"ai_ticket": ticket, **context}
    if request.headers.get("HX-Request"):
        return render(request, "assist/_draft.html", context, status=status)
    return render(request, "assist/draft_page.html", context, status=status)


@login_required
@require_POST
def draft(request, number):
    """A reply draft or a thread summary by the hosted model, shown for the agent to decide."""
    ticket = _draft_ticket(request, number)
    try:
        made = drafts.request_draft(ticket=ticket, user=request.user, kind=request.POST.get("kind"))
    except DomainError as error:
        return _draft_answer(request, ticket, {"error": error.message}, status=error.status_code)
    return _draft_answer(request, ticket, {"draft": made})


@login_required
@require_POST
def draft_decide(request, number, interaction):
    """Take the draft into the composer (the page's script copies it there) or reject it."""
    ticket = _draft_ticket(request, number)
    outcome = request.POST.get("outcome", "")
    if outcome not in (DraftOutcome.IN_COMPOSER, DraftOutcome.REJECTED):
        return _draft_answer(request, ticket, {"error": "Use the draft or reject it."}, 400)
    try:
        drafts.decide(interaction_id=interaction, user=request.user, outcome=outcome)
    except DomainError as error:
        return _draft_answer(request, ticket, {"error": error.message}, status=error.status_code)
    note = (
        "Draft taken into the composer: edit it there, then send."
        if outcome == DraftOutcome.IN_COMPOSER
        else "Draft rejected."
    )
    return _draft_answer(request, ticket, {"note": note})


@login_required
@require_POST
def decide(request, number):
    ticket = with_number(tickets_for(request.user), number).first()
    if ticket is None or not can_see_suggestions(request.user, ticket):
        raise Http404("No such ticket.")
    field = request.POST.get("field", "")
    if field not in dict(FIELD_CHOICES):
        raise Http404("No such suggestion.")
    try:
        if request.POST.get("decision") == "reject":
            suggestions.reject(ticket=ticket, field=field, by=request.user)
            messages.success(request, f"Suggested {field} dismissed.")
        elif request.POST.get("decision") == "confirm":
            suggestions.confirm(ticket=ticket, field=field, by=request.user)
            messages.success(request, f"The {field} applied in triage is confirmed.")
        else:
            suggestions.accept(ticket=ticket, field=field, by=request.user)
            messages.success(request, f"Suggested {field} applied.")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("desk-ticket", number=ticket.number)


@login_required
def usage_page(request):
    """AI usage for leads: per day, feature and model; each model's evaluation."""
    if not can_see_usage(request.user):
        return render(request, "desk/not_staff.html", status=403)
    reports = []
    for artifact in selectors.model_reports():
        model = (artifact.metrics or {}).get("model") or {}
        baselines = (artifact.metrics or {}).get("baselines") or {}
        reports.append({"artifact": artifact, "model": model, "baselines": baselines})
    return render(
        request,
        "assist/usage.html",
        {"usage": selectors.usage_by_day(), "reports": reports},
    )


# --- the unassigned queue's triage ---------------------------------------------------------

TRIAGE_VIEW = "unassigned"


def queue_triage(tickets, *, view: str) -> None:
    """Queue row decorator: in the unassigned view, each row's pending suggestions with their
    confidence and a one-click Accept. The table sits inside the bulk form, so each button
    submits that form (its CSRF token) to the triage URL with `formaction`."""
    if view != TRIAGE_VIEW:
        return
    suggestions.attach_triage(tickets)
    action = reverse("assist-triage")
    for ticket in tickets:
        shown = getattr(ticket, "ai_triage", [])
        if not shown:
            continue
        items = format_html_join(
            " ",
            '<span class="ai-triage-item">{}: <strong>{}</strong> <span class="muted">{} %</span>'
            ' <button type="submit" form="bulk" formaction="{}" formnovalidate name="accept" '
            'value="{}:{}" class="link" aria-label="Accept {} {} for {}">Accept</button></span>',
            (
                (field.title(), label, round(confidence * 100), action, ticket.number, field,
                 field, label, ticket.number)
                for field, value, label, confidence in shown
            ),
        )  # fmt: skip
        ticket.row_extras = format_html(
            '<br><span class="small ai-triage" title="AI suggestions (confidence: share of '
            'held-out tickets the model got right at that level)">Suggested: {}</span>',
            items,
        )


@login_required
@require_POST
def triage_accept(request):
    """One click in the unassigned queue: the suggestion is applied, recorded as the model's
    (`applied`) until a person confirms it on the ticket."""
    number, _, field = request.POST.get("accept", "").partition(":")
    ticket = with_number(tickets_for(request.user), number).first() if number else None
    if ticket is None or not can_see_suggestions(request.user, ticket):
        raise Http404("No such ticket.")
    if field not in dict(FIELD_CHOICES):
        raise Http404("No such suggestion.")
    try:
        suggestions.accept(ticket=ticket, field=field, by=request.user, from_triage=True)
        messages.success(
            request, f"{ticket.number}: suggested {field} applied (confirm it on the ticket)."
        )
    except DomainError as error:
        messages.error(request, f"{ticket.number}: {error.message}")
    return redirect(f"{reverse('desk-home')}?view={TRIAGE_VIEW}")
