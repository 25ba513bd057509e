"""Desk pages of AI assist: the suggestions panel beside a ticket and its one-click answers."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.errors import DomainError
from support.models.choices import ACTIVE_STATUSES
from support.selectors import tickets_for, with_number

from . import breach, retrieval, selectors, suggestions
from .models import FIELD_CHOICES
from .permissions import can_see_suggestions, can_see_usage


def suggestions_panel(request, ticket):
    """The ticket's pending suggestions with their confidence (a ticket page panel)."""
    user = getattr(request, "user", None)
    if not can_see_suggestions(user, ticket):
        return None
    shown = suggestions.suggestions_for(ticket=ticket, user=user)
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
        "ai_ticket": ticket,
        "ai_breach_risk": risk,
        "ai_passages": passages,
    }


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
