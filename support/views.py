"""Server-rendered support pages: the agent desk (the help center is in `help_views`).

They call the same selectors and services as the API.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.paging import page_of
from core.selectors import notifications_for
from knowledge import selectors as knowledge_selectors

from . import services, sla
from .forms import ReplyForm
from .models.choices import ACTIVE_STATUSES, Status
from .permissions import can_link_articles, can_use_desk, ticket_actions
from .selectors import (
    articles_of,
    attach_unread_counts,
    messages_for,
    request_files,
    search_tickets,
    tickets_for,
    tickets_of_article,
    with_number,
)
from .services import escalation

DESK_NOTIFICATIONS_SHOWN = 10
QUEUE_PAGE_SIZE = 50
HELP_PAGE_SIZE = 20


def _staff_only(request):
    if not can_use_desk(request.user):
        return render(request, "desk/not_staff.html", status=403)
    return None


def _ticket_or_404(user, number):
    ticket = with_number(tickets_for(user), number).first()
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


@login_required
def desk_home(request):
    refused = _staff_only(request)
    if refused:
        return refused
    tickets = tickets_for(request.user)
    view = request.GET.get("view", "mine")
    if view == "mine":
        tickets = tickets.filter(assigned_to=request.user, status__in=ACTIVE_STATUSES)
    elif view == "unassigned":
        tickets = tickets.filter(assigned_to__isnull=True, status__in=ACTIVE_STATUSES)
    elif view == "all":
        tickets = tickets.filter(status__in=ACTIVE_STATUSES)
    elif view == "done":
        tickets = tickets.exclude(status__in=ACTIVE_STATUSES)
    q = request.GET.get("q", "")
    if q:
        tickets = search_tickets(tickets, q)
    tickets = (
        tickets.order_by(F("sla_due_at").asc(nulls_last=True), "-created_at")
        if view != "done"
        else tickets
    )
    # Uncounted: a total over the "done" view would count most of the table on every visit.
    page = page_of(tickets, request.GET.get("page"), QUEUE_PAGE_SIZE)
    attach_unread_counts(page.object_list, request.user)
    context = {
        "page": page,
        "page_query": urlencode({"view": view, "q": q}) + "&",
        "view": view,
        "q": q,
        "notifications": list(notifications_for(user=request.user)[:DESK_NOTIFICATIONS_SHOWN]),
    }
    return render(request, "desk/home.html", context)


@login_required
def desk_ticket(request, number):
    refused = _staff_only(request)
    if refused:
        return refused
    ticket = _ticket_or_404(request.user, number)
    form = ReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_message(
                ticket=ticket,
                by=request.user,
                body=form.cleaned_data["body"],
                internal=form.cleaned_data["internal"],
                attachments=[f for f in [form.cleaned_data.get("files")] if f],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        except Exception as exc:  # attachment validation errors carry their own message
            if not hasattr(exc, "messages"):
                raise
            form.add_error("files", exc.messages)
        else:
            messages.success(request, "Sent." if not form.cleaned_data["internal"] else "Noted.")
            return redirect("desk-ticket", number=ticket.number)
    conversation = list(messages_for(ticket=ticket, user=request.user))
    services.mark_ticket_read(ticket=ticket, user=request.user)
    actions = ticket_actions(request.user, ticket)
    if not actions["internal_note"]:
        form.fields.pop("internal")
    context = {
        "ticket": ticket,
        "conversation": conversation,
        "request_files": list(request_files(ticket)),
        "form": form,
        "actions": actions,
        "transitions": actions["transitions"],
        "events": list(ticket.events.select_related("actor")[:100]),
        "status_labels": dict(Status.choices),
        "clocks": sla.read_clocks(ticket, now=timezone.now()),
        "escalations": list(ticket.escalations.select_related("actor")),
    }
    return render(request, "desk/ticket.html", context)


@login_required
@require_POST
def desk_ticket_action(request, number):
    refused = _staff_only(request)
    if refused:
        return refused
    ticket = _ticket_or_404(request.user, number)
    action = request.POST.get("action", "")
    try:
        if action == "claim":
            services.claim_ticket(ticket=ticket, by=request.user)
        elif action == "escalate":
            escalation.escalate_ticket(
                ticket=ticket, by=request.user, reason=request.POST.get("reason", "")
            )
            messages.success(request, "Escalated.")
        elif action == "remind":
            escalation.remind(ticket=ticket, by=request.user, target=request.POST.get("target", ""))
            messages.success(request, "Reminder sent.")
        elif action == "status":
            services.change_status(
                ticket=ticket,
                to=request.POST.get("status", ""),
                by=request.user,
                note=request.POST.get("note", ""),
            )
        elif action in ("link_article", "unlink_article"):
            article = _article_by_number(request.user, request.POST.get("article", ""))
            change = services.link_article if action == "link_article" else services.unlink_article
            change(ticket=ticket, article=article, by=request.user)
            done = "linked to" if action == "link_article" else "unlinked from"
            messages.success(request, f"{article.number} {done} this ticket.")
        else:
            raise DomainError("Unknown action.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("desk-ticket", number=ticket.number)


def _article_by_number(user, number: str):
    number = number.strip().upper()[:20]
    article = (
        knowledge_selectors.articles_for(user).filter(number=number).first() if number else None
    )
    if article is None:
        raise DomainError(f"No article {number}." if number else "Give an article number (KB-…).")
    return article


# --- knowledge base panels (wired in config/shell.py) -----------------------------------------

ARTICLE_TICKETS_SHOWN = 10


def ticket_articles_panel(request, ticket):
    """The articles this ticket was answered with, beside it, to link or unlink (one query)."""
    user = getattr(request, "user", None)
    if not can_link_articles(user, ticket):
        return None
    return "desk/_ticket_articles.html", {"ticket_articles": list(articles_of(ticket))}


def article_tickets_panel(request, article):
    """On the desk's article page: how many tickets it served and the latest (two queries)."""
    user = getattr(request, "user", None)
    if not can_use_desk(user):
        return None
    count, recent = tickets_of_article(user, article, limit=ARTICLE_TICKETS_SHOWN)
    return "desk/_article_tickets.html", {"count": count, "recent": recent}
