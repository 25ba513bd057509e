"""The customer's help center: home, contact form, their requests, one request's page, and
the way in without an account (an e-mailed link).

They call the same selectors and services as the API and the desk. A visitor who opened a
request by its e-mailed link acts on that one ticket as its contact (`by=None`); nothing else
is reachable that way.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core import ratelimits
from core.attachments import file_response
from core.errors import DomainError
from core.paging import page_of
from core.sanitize import text_to_html
from knowledge import selectors as knowledge_selectors
from knowledge import services as knowledge_services

from . import services
from .forms import AccessRequestForm, ContactForm, HelpReplyForm, RateForm, RequestFilterForm
from .models.choices import Channel
from .permissions import help_actions
from .selectors import (
    attachments_for,
    customer_requests,
    messages_for,
    request_files,
    status_timeline,
    tickets_for,
    with_number,
)
from .services import access
from .signals import request_filed

HELP_PAGE_SIZE = 20
HOME_REQUESTS_SHOWN = 5
TOO_MANY = "You have sent a lot in a short time. Wait a while and try again."


class _Visit:
    """Who is looking at a ticket: a signed-in user who may see it, or its contact by link."""

    def __init__(self, ticket, *, user=None):
        self.ticket = ticket
        self.user = user  # None: the visitor holds an access grant to this ticket only

    @property
    def by(self):
        return self.user

    @property
    def by_link(self) -> bool:
        return self.user is None


def _visit_or_404(request, number) -> _Visit:
    if request.user.is_authenticated:
        ticket = with_number(tickets_for(request.user), number).first()
        if ticket is not None:
            return _Visit(ticket, user=request.user)
    ticket = access.granted_ticket(request.session, number)
    if ticket is not None:
        return _Visit(ticket)
    raise Http404("No such request.")


def _actions(visit: _Visit) -> dict:
    return help_actions(visit.user, visit.ticket)


def help_home(request):
    user = request.user
    context = {
        "categories": knowledge_selectors.category_counts(user),
        "popular": list(knowledge_selectors.popular(user, limit=5)),
    }
    if user.is_authenticated:
        context["recent"] = list(customer_requests(user)[:HOME_REQUESTS_SHOWN])
    return render(request, "help/home.html", context)


def help_requests(request):
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    form = RequestFilterForm(request.GET or None, user=request.user)
    tickets = customer_requests(request.user)
    if form.is_valid():
        tickets = form.apply(tickets)
    page = page_of(tickets, request.GET.get("page"), HELP_PAGE_SIZE)
    query = {
        k: v
        for k, v in (form.cleaned_data if form.is_bound and form.is_valid() else {}).items()
        if v
    }
    context = {
        "form": form,
        "page": page,
        "page_query": urlencode({k: getattr(v, "pk", v) for k, v in query.items()}) + "&",
        "show_requester": form.colleagues_shown,
    }
    return render(request, "help/requests.html", context)


@require_http_methods(["GET", "POST"])
def help_new_ticket(request):
    """The contact form: anyone may write; a signed-in customer files as themselves."""
    signed_in = request.user.is_authenticated
    form = ContactForm(request.POST or None, request.FILES or None, signed_in=signed_in)
    if request.method == "POST":
        if not signed_in and ratelimits.exceeded(request, ratelimits.CONTACT):
            form.add_error(None, TOO_MANY)
            return render(request, "help/new_ticket.html", {"form": form}, status=429)
        if form.is_valid():
            ticket = _file(request, form)
            if ticket is not None:
                session_key = request.session.session_key or ""
                knowledge_services.note_ticket_followed(user=request.user, session_key=session_key)
                request_filed.send(
                    sender=help_new_ticket,
                    ticket=ticket,
                    user=request.user,
                    session_key=session_key,
                    at=ticket.created_at,
                )
                if signed_in:
                    messages.success(request, f"Thanks! Your request is {ticket.number}.")
                    return redirect("help-ticket", number=ticket.number)
                request.session["help.filed"] = [ticket.number, ticket.customer_email]
                return redirect("help-ticket-sent")
    return render(request, "help/new_ticket.html", {"form": form})


def _file(request, form):
    data = form.cleaned_data
    fields = {
        "subject": data["subject"],
        "description": text_to_html(data["description"], linkify=True),
        "category": data["category"],
        "priority": data.get("priority"),
        "channel": Channel.WEB,
        "attachments": data["files"],
    }
    if request.user.is_authenticated:
        fields["by"] = request.user
    else:
        fields.update(by=None, customer_email=data["email"], customer_name=data["name"])
    try:
        return services.create_ticket(**fields)
    except DomainError as exc:
        form.add_error(None, exc.message)
    except ValidationError as exc:  # a file refused by content, size or quota
        form.add_error("files", exc.messages)
    return None


def help_ticket_sent(request):
    filed = request.session.get("help.filed")
    if not filed:
        return redirect("help-new-ticket")
    number, email = filed
    return render(request, "help/ticket_sent.html", {"number": number, "email": email})


@require_http_methods(["GET", "POST"])
def help_ticket(request, number):
    try:
        visit = _visit_or_404(request, number)
    except Http404:
        if request.user.is_authenticated:
            raise
        # Not signed in and no grant: sign in, or ask for a link by e-mail.
        return render(request, "help/ticket_locked.html", {"number": number}, status=403)
    ticket = visit.ticket
    actions = _actions(visit)
    form = HelpReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            message = services.add_message(
                ticket=ticket,
                by=visit.by,
                body=text_to_html(form.cleaned_data["body"], linkify=True),
                attachments=form.cleaned_data["files"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        except ValidationError as exc:
            form.add_error("files", exc.messages)
        else:
            if message.ticket_id != ticket.pk:
                if visit.by_link:
                    access.grant_follow_up(request.session, message.ticket, source=ticket)
                messages.info(request, "This request was closed, so we opened a new one for you.")
                return redirect("help-ticket", number=message.ticket.number)
            messages.success(request, "Sent.")
            return redirect("help-ticket", number=ticket.number)
    user = visit.user
    context = {
        "ticket": ticket,
        "visit": visit,
        "conversation": list(messages_for(ticket=ticket, user=user)),
        "request_files": list(request_files(ticket)),
        "timeline": status_timeline(ticket),
        "form": form,
        "rate_form": RateForm(
            initial={"rating": ticket.satisfaction_rating, "comment": ticket.satisfaction_comment}
        ),
        "actions": actions,
    }
    if user is not None:
        services.mark_ticket_read(ticket=ticket, user=user)
    return render(request, "help/ticket.html", context)


def help_ticket_file(request, number, attachment_id):
    visit = _visit_or_404(request, number)
    attachment = (
        attachments_for(ticket=visit.ticket, user=visit.user).filter(pk=attachment_id).first()
    )
    if attachment is None:
        raise Http404("No such file.")
    return file_response(
        attachment.file.storage,
        attachment.file.name,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )


@require_POST
def help_ticket_action(request, number):
    visit = _visit_or_404(request, number)
    ticket = visit.ticket
    action = request.POST.get("action")
    allowed = _actions(visit)
    try:
        if action == "rate" and allowed["rate"]:
            form = RateForm(request.POST)
            if not form.is_valid():
                raise DomainError("Choose a rating from 1 to 5.")
            services.rate_ticket(ticket=ticket, by=visit.by, **form.cleaned_data)
            messages.success(request, "Thank you for your rating!")
        elif action == "solved" and allowed["solved"]:
            services.mark_solved(ticket=ticket, by=visit.by)
            messages.success(request, "Glad it's solved. We closed the request.")
        elif action == "reopen" and allowed["reopen"]:
            services.reopen_ticket(ticket=ticket, by=visit.by)
            messages.success(request, "We reopened your request.")
        else:
            raise DomainError("That cannot be done to this request now.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("help-ticket", number=ticket.number)


@require_http_methods(["GET", "POST"])
def help_access(request, token):
    """An e-mailed link. GET asks for a click (mail scanners open links); POST uses it."""
    link = access.link_for_token(token)
    problem = access.link_problem(link)
    if request.method == "POST" and not problem:
        try:
            ticket = access.open_link(request.session, token)
        except DomainError as exc:
            problem = exc.message
        else:
            return redirect("help-ticket", number=ticket.number)
    context = {
        "problem": problem,
        "number": link.ticket.number if link and not problem else "",
        "grant_days": settings.TICKET_ACCESS_GRANT_DAYS,
    }
    return render(request, "help/access.html", context, status=410 if problem else 200)


@require_http_methods(["GET", "POST"])
def help_access_request(request):
    """Ask for a new link to a request; the answer is the same whether or not it exists."""
    form = AccessRequestForm(
        request.POST or None, initial={"number": request.GET.get("ticket", "")}
    )
    if request.method == "POST":
        if ratelimits.exceeded(request, ratelimits.CONTACT):
            form.add_error(None, TOO_MANY)
            return render(request, "help/access_request.html", {"form": form}, status=429)
        if form.is_valid():
            access.request_new_link(**form.cleaned_data)
            return render(
                request, "help/access_request.html", {"sent_to": form.cleaned_data["email"]}
            )
    return render(request, "help/access_request.html", {"form": form})
