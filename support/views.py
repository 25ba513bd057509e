"""Server-rendered support pages: the agent desk (the help center is in `help_views`).

They call the same selectors and services as the API.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.paging import page_of
from core.sanitize import sanitize_html
from core.selectors import grouped_notifications
from knowledge import selectors as knowledge_selectors
from knowledge.markdown import render_message

from . import clock_words, dashboard, event_words, presence, queue, services, templating
from .desk_forms import (
    BulkForm,
    ComposerForm,
    PropertiesForm,
    QueueFilterForm,
    StatusForm,
    TicketPickForm,
    templates_for_reply,
)
from .models import AgentProfile, SavedQueueView
from .models.choices import AgentStatus, Status
from .permissions import (
    can_edit,
    can_link,
    can_link_articles,
    can_use_desk,
    can_use_templates,
    ticket_actions,
)
from .selectors import (
    articles_of,
    attach_last_messages,
    attach_unread_counts,
    customer_other_tickets,
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
CUSTOMER_TICKETS_SHOWN = 5


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
    user, now = request.user, timezone.now()
    view = request.GET.get("view", "mine")
    view = view if view in queue.VIEW_KEYS else "mine"
    q = request.GET.get("q", "").strip()
    sorts = queue.sorts_for(view)
    sort = request.GET.get("sort")
    sort = sort if sort in sorts else next(iter(sorts))
    filters = QueueFilterForm(request.GET or None)
    tickets = tickets_for(user).filter(queue.view_filter(view, user, now=now))
    if filters.is_bound and filters.is_valid():
        tickets = filters.apply(tickets)
    if q:
        tickets = search_tickets(tickets, q)
    page = page_of(queue.ordered(tickets, sort), request.GET.get("page"), QUEUE_PAGE_SIZE)
    rows = page.object_list
    attach_unread_counts(rows, user)
    attach_last_messages(rows)
    queue.decorate_rows(rows, view=view)
    for ticket in rows:
        ticket.badge = clock_words.next_due(clock_words.ticket_clocks(ticket, now=now))
    keep = {"view": view, "q": q, "sort": sort, **filters.active_filters()}
    context = {
        "page": page,
        "page_query": urlencode({k: v for k, v in keep.items() if v}) + "&",
        "view": view,
        "views": queue.VIEWS,
        "counts": queue.counts(user, now=now),
        "sort": sort,
        "sorts": sorts,
        "q": q,
        "filters": filters,
        "filtered": bool(filters.active_filters()),
        "bulk": BulkForm(user=user),
        "selected": set(request.GET.getlist("tickets")),
        "refresh_query": urlencode({k: v for k, v in keep.items() if v}),
        "notifications": grouped_notifications(user=user, limit=DESK_NOTIFICATIONS_SHOWN),
        "availability": AgentProfile.objects.filter(user=user)
        .values_list("status", flat=True)
        .first()
        or AgentStatus.AVAILABLE,
        "availability_choices": AgentStatus.choices,
        "saved_views": list(SavedQueueView.objects.filter(user=user)),
        "current_query": queue.saved_query(request.GET.urlencode()),
    }
    if request.htmx and request.GET.get("part") == "rows":
        # The page's own refresh: the rows and counts again, the ticked boxes kept ticked.
        return render(request, "desk/_queue_rows.html", context)
    return render(request, "desk/home.html", context)


@login_required
def desk_dashboard(request):
    refused = _staff_only(request)
    if refused:
        return refused
    context = dashboard.dashboard(request.user)
    context["availability"] = (
        AgentProfile.objects.filter(user=request.user).values_list("status", flat=True).first()
        or AgentStatus.AVAILABLE
    )
    context["availability_choices"] = AgentStatus.choices
    from .chat.selectors import chat_sla

    context["chat_sla"] = chat_sla()
    return render(request, "desk/dashboard.html", context)


@login_required
@require_POST
def desk_bulk(request):
    refused = _staff_only(request)
    if refused:
        return refused
    form = BulkForm(request.POST, user=request.user)
    back = request.POST.get("back", "")
    back = back if back.startswith("/desk/") else "/desk/"
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(
                request, f"{field}: {' '.join(errors)}" if field != "__all__" else " ".join(errors)
            )
        return redirect(back)
    done, problems = form.save()
    messages.success(request, f"Done for {done} ticket{'s' if done != 1 else ''}.")
    for problem in problems[:10]:
        messages.error(request, problem)
    return redirect(back)


def _workspace(request, ticket, *, composer=None, properties=None, status_form=None, pick=None):
    """Everything the ticket workspace shows, in a constant number of queries."""
    user = request.user
    actions = ticket_actions(user, ticket)
    now = timezone.now()
    clocks = clock_words.ticket_clocks(ticket, now=now)
    context = {
        "ticket": ticket,
        "conversation": list(messages_for(ticket=ticket, user=user)),
        "request_files": list(request_files(ticket)),
        "composer": composer
        or ComposerForm(allow_internal=actions["internal_note"], initial={"then": ""}),
        "then_choices": list(ComposerForm.THEN.items()),
        "templates": list(templates_for_reply()) if can_use_templates(user) else [],
        "properties": properties
        if properties is not None
        else (PropertiesForm(ticket=ticket, user=user) if can_edit(user, ticket) else None),
        "status_form": status_form
        or StatusForm(targets=actions["transitions"], labels=dict(Status.choices)),
        "pick": pick
        or (TicketPickForm(ticket=ticket, user=user) if can_link(user, ticket) else None),
        "actions": actions,
        "history": event_words.history(ticket.events.select_related("actor")[:100]),
        "clocks": clocks,
        "badge": clock_words.next_due(clocks),
        "escalations": list(ticket.escalations.select_related("actor")),
        "customer_tickets": list(customer_other_tickets(ticket, user)[:CUSTOMER_TICKETS_SHOWN]),
    }
    return context


def _send(request, ticket, form):
    """Send the composer's reply or note, then set the status it asks for (one action)."""
    data = form.cleaned_data
    message = services.add_message(
        ticket=ticket,
        by=request.user,
        body=render_message(data["body"]),
        internal=data.get("internal", False),
        attachments=data["files"],
    )
    then = data.get("then")
    if then:
        services.change_status(ticket=message.ticket, to=then, by=request.user)
    return message


@login_required
def desk_ticket(request, number):
    refused = _staff_only(request)
    if refused:
        return refused
    ticket = _ticket_or_404(request.user, number)
    actions = ticket_actions(request.user, ticket)
    composer = None
    if request.method == "POST":
        composer = ComposerForm(
            request.POST, request.FILES, allow_internal=actions["internal_note"]
        )
        if composer.is_valid():
            try:
                with transaction.atomic():
                    message = _send(request, ticket, composer)
            except DomainError as exc:
                composer.add_error(None, exc.message)
            except ValidationError as exc:  # a file refused by content, size or quota
                composer.add_error("files", exc.messages)
            else:
                note = message.is_internal
                then = composer.cleaned_data.get("then")
                done = "Noted." if note else "Sent."
                if then:
                    done = f"Sent, and the ticket is now {Status(then).label.lower()}."
                messages.success(request, done)
                return redirect("desk-ticket", number=ticket.number)
    services.mark_ticket_read(ticket=ticket, user=request.user)
    return render(request, "desk/ticket.html", _workspace(request, ticket, composer=composer))


@login_required
def desk_template(request, number):
    """A canned response with its placeholders filled for this ticket, as plain text (the
    composer's script inserts it at the cursor)."""
    refused = _staff_only(request)
    if refused:
        return refused
    ticket = _ticket_or_404(request.user, number)
    can_use_templates.require(request.user)
    template_id = request.GET.get("template", "")
    template = (
        templates_for_reply().filter(pk=template_id).first() if template_id.isdigit() else None
    )
    if template is None:
        raise Http404("No such template.")
    text = templating.render(
        template.body, templating.context_for(ticket=ticket, agent=request.user)
    )
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


@login_required
@require_POST
def desk_preview(request, number):
    """The composer's Markdown as the customer will read it (htmx)."""
    refused = _staff_only(request)
    if refused:
        return refused
    _ticket_or_404(request.user, number)
    html = sanitize_html(render_message(request.POST.get("body", "")[:100_000]))
    return render(request, "desk/_preview.html", {"html": html})


@login_required
@require_POST
def desk_ticket_action(request, number):
    refused = _staff_only(request)
    if refused:
        return refused
    ticket = _ticket_or_404(request.user, number)
    action = request.POST.get("action", "")
    user = request.user
    try:
        if action == "claim":
            services.claim_ticket(ticket=ticket, by=user)
            messages.success(request, "It's yours.")
        elif action == "properties":
            form = PropertiesForm(request.POST, ticket=ticket, user=user)
            if not form.is_valid():
                return _refused(request, ticket, properties=form)
            changed = form.save()
            messages.success(
                request, f"Saved: {', '.join(changed)}." if changed else "Nothing changed."
            )
        elif action == "status":
            actions = ticket_actions(user, ticket)
            form = StatusForm(
                request.POST, targets=actions["transitions"], labels=dict(Status.choices)
            )
            if not form.is_valid():
                return _refused(request, ticket, status_form=form)
            services.change_status(
                ticket=ticket,
                to=form.cleaned_data["status"],
                by=user,
                note=form.cleaned_data["note"],
            )
            messages.success(request, f"Now {Status(form.cleaned_data['status']).label.lower()}.")
        elif action in ("merge", "link"):
            form = TicketPickForm(request.POST, ticket=ticket, user=user)
            if not form.is_valid():
                return _refused(request, ticket, pick=form)
            result = form.save()
            if action == "merge":
                messages.success(request, f"Merged into {result.number}.")
                return redirect("desk-ticket", number=result.number)
            messages.success(request, f"Linked to {form.cleaned_data['other'].number}.")
        elif action == "escalate":
            escalation.escalate_ticket(
                ticket=ticket, by=user, reason=request.POST.get("reason", "")
            )
            messages.success(request, "Escalated.")
        elif action == "remind":
            escalation.remind(ticket=ticket, by=user, target=request.POST.get("target", ""))
            messages.success(request, "Reminder sent.")
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


@login_required
@require_POST
def desk_presence(request, number):
    """The workspace's report that it is open (and whether its composer has text); answers with
    who else is on the ticket (htmx swaps it into the page)."""
    refused = _staff_only(request)
    if refused:
        return refused
    ticket = _ticket_or_404(request.user, number)
    others = presence.report(ticket, request.user, state=request.POST.get("state", "viewing"))
    return render(request, "desk/_presence.html", {"others": others})


@login_required
@require_POST
def desk_saved_views(request):
    """Save the current queue view under a name, or delete one of your own."""
    refused = _staff_only(request)
    if refused:
        return refused
    try:
        if request.POST.get("delete", "").isdigit():
            queue.delete_view(user=request.user, view_id=int(request.POST["delete"]))
            messages.success(request, "View deleted.")
            return redirect("desk-home")
        saved = queue.save_view(
            user=request.user,
            name=request.POST.get("name", ""),
            query_string=request.POST.get("query", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("desk-home")
    messages.success(request, f"Saved “{saved.name}”.")
    return redirect(f"{reverse('desk-home')}?{saved.query}")


@login_required
@require_POST
def desk_availability(request):
    """The agent's own availability (available, away, offline): automatic assignment follows."""
    refused = _staff_only(request)
    if refused:
        return refused
    profile, _ = AgentProfile.objects.get_or_create(user=request.user)
    try:
        services.update_agent_profile(
            profile=profile, by=request.user, status=request.POST.get("status", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"You are {profile.get_status_display().lower()}.")
    return redirect("desk-home")


def _refused(request, ticket, **forms):
    """The workspace again with the refused form and its errors (status 400)."""
    return render(request, "desk/ticket.html", _workspace(request, ticket, **forms), status=400)


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
