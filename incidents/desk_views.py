"""The desk's incident pages: the list (active first) and an incident's page, where staff
acknowledge, move, write the timeline and link tickets. Every write is a service call."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from core.paging import page_of
from support.clock_words import duration_words

from . import articles as kb
from . import deflection, metrics, services
from . import tickets as linked
from .forms import (
    ActionItemFormSet,
    ComponentStatesForm,
    IncidentForm,
    MetricsRangeForm,
    PostMortemForm,
    action_items,
    form_errors,
)
from .models import ACTIVE_STATUSES, PostMortem, Severity, Status
from .permissions import can_run, can_see_incidents
from .selectors import incidents_with_details
from .workflow import INCIDENT, STAFF

PAGE_SIZE = 25


def _refused(request):
    if not can_see_incidents(request.user):
        return render(request, "desk/not_staff.html", status=403)
    return None


def _incident_or_404(number: str):
    incident = incidents_with_details().filter(number=number.upper()).first()
    if incident is None:
        raise Http404("No such incident.")
    return incident


@login_required
@require_GET
def incident_list(request):
    if refused := _refused(request):
        return refused
    incidents = incidents_with_details().order_by(
        Case(When(status__in=ACTIVE_STATUSES, then=Value(0)), default=Value(1),
             output_field=IntegerField()),
        "-detected_at",
        "-pk",
    )  # fmt: skip
    page = page_of(incidents, request.GET.get("page"), PAGE_SIZE)
    return render(request, "incidents/desk/list.html", {"page": page, "page_query": ""})


@login_required
@require_GET
def incident_page(request, number):
    if refused := _refused(request):
        return refused
    incident = _incident_or_404(number)
    context = {
        "incident": incident,
        "updates": incident.updates.select_related("author").order_by("-created_at", "-pk"),
        "transitions": [
            (to, Status(to).label) for to in INCIDENT.allowed(incident.status, party=STAFF)
        ],  # fmt: skip
        "can_run": can_run(request.user, incident),
        "article_links": kb.linked_articles(incident).order_by("linked_at", "pk"),
        "banner": deflection.banner_deflection(incident),
        "components_form": ComponentStatesForm(
            current={a.component_id: a.state for a in incident.affected.all()}
        ),
    }
    return render(request, "incidents/desk/incident.html", context)


def _act(request, number, write, done: str):
    if refused := _refused(request):
        return refused
    incident = _incident_or_404(number)
    try:
        write(incident)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("desk-incident", number=incident.number)


@login_required
@require_POST
def acknowledge(request, number):
    return _act(request, number,
                lambda incident: services.acknowledge(incident=incident, by=request.user),
                "Acknowledged: you command this incident.")  # fmt: skip


@login_required
@require_POST
def transition(request, number):
    to = request.POST.get("to", "")
    return _act(
        request,
        number,
        lambda incident: services.change_status(
            incident=incident,
            by=request.user,
            to=to,
            message=request.POST.get("message", "")[:10000],
            public=request.POST.get("public") == "on",
        ),
        f"Moved to {to.replace('_', ' ')}.",
    )


@login_required
@require_POST
def post_update(request, number):
    return _act(
        request,
        number,
        lambda incident: services.post_update(
            incident=incident,
            by=request.user,
            body=request.POST.get("body", "")[:10000],
            public=request.POST.get("public") == "on",
        ),
        "Update posted.",
    )


@login_required
@require_POST
def link_tickets(request, number):
    refs = [ref for ref in request.POST.get("tickets", "").replace(",", " ").split() if ref]
    if not refs:
        messages.error(request, "Name one or more tickets (ids or TKT-… numbers).")
        return redirect("desk-incident", number=number.upper())
    return _act(request, number,
                lambda incident: linked.link_tickets(incident=incident, by=request.user,
                                                     tickets=refs),
                "Tickets linked.")  # fmt: skip


@login_required
@require_POST
def draft_article(request, number):
    if refused := _refused(request):
        return refused
    incident = _incident_or_404(number)
    try:
        article, created = kb.draft_known_issue(incident=incident, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("desk-incident", number=incident.number)
    if created:
        messages.success(request, f"Drafted {article.number}: review it, then publish it.")
    else:
        messages.info(request, f"{article.number} was drafted before; here it is.")
    return redirect("kb-desk-article", number=article.number)


@login_required
@require_POST
def link_article(request, number):
    ref = request.POST.get("article", "")[:40]
    return _act(request, number,
                lambda incident: kb.link_article(incident=incident, by=request.user, article=ref),
                "Article linked.")  # fmt: skip


@login_required
@require_POST
def unlink_article(request, number):
    ref = request.POST.get("article", "")[:40]
    return _act(request, number,
                lambda incident: kb.unlink_article(incident=incident, by=request.user,
                                                   article=ref),
                "Article unlinked.")  # fmt: skip


def _may_run(request):
    if refused := _refused(request):
        return refused
    if not can_run(request.user):
        return render(request, "desk/not_staff.html", status=403)
    return None


@login_required
@require_http_methods(["GET", "POST"])
def incident_new(request):
    """Declare an incident, as the API does (`services.create_incident`)."""
    if refused := _may_run(request):
        return refused
    form = IncidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            incident = services.create_incident(
                by=request.user, components=form.component_states(), **form.incident_fields()
            )
        except DomainError as error:
            form_errors(form, error)
        else:
            messages.success(request, f"{incident.number} declared.")
            return redirect("desk-incident", number=incident.number)
    return render(request, "incidents/desk/new.html", {"form": form}, status=_status(form))


def _status(*forms) -> int:
    """400 for a form sent back with its errors (nothing was changed), else 200."""
    return 400 if any(form.is_bound and form.errors for form in forms) else 200


def _action_rows(postmortem):
    if postmortem is None:
        return []
    return [
        {"description": item.description, "owner": item.owner_id, "due_on": item.due_on,
         "done": item.done}
        for item in postmortem.actions.all()
    ]  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def postmortem_edit(request, number):
    """Write the post-mortem and its action items (`services.save_postmortem`): the rows shown
    are the whole list, so a cleared row is a removed action item."""
    if refused := _may_run(request):
        return refused
    incident = _incident_or_404(number)
    postmortem = PostMortem.objects.filter(incident=incident).first()
    if request.method == "POST":
        form = PostMortemForm(request.POST)
        actions = ActionItemFormSet(request.POST, prefix="actions")
    else:
        initial = {"complete": bool(postmortem and postmortem.is_complete)}
        if postmortem is not None:
            initial |= {name: getattr(postmortem, name) for name in services.POSTMORTEM_TEXT}
        form = PostMortemForm(initial=initial)
        actions = ActionItemFormSet(initial=_action_rows(postmortem), prefix="actions")
    if request.method == "POST" and form.is_valid() and actions.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                services.save_postmortem(
                    incident=incident,
                    by=request.user,
                    actions=action_items(actions),
                    complete=data["complete"],
                    **{name: data[name] for name in services.POSTMORTEM_TEXT},
                )
        except DomainError as error:
            form_errors(form, error)
        else:
            messages.success(request, "Post-mortem saved.")
            return redirect("desk-incident", number=incident.number)
    context = {"incident": incident, "form": form, "actions": actions, "postmortem": postmortem}
    return render(request, "incidents/desk/postmortem.html", context,
                  status=_status(form, actions))  # fmt: skip


@login_required
@require_POST
def set_components(request, number):
    """The components the incident affects, each in its state (the whole set, as on the API)."""
    if refused := _refused(request):
        return refused
    incident = _incident_or_404(number)
    form = ComponentStatesForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a listed state for each component.")
        return redirect("desk-incident", number=incident.number)
    return _act(request, number,
                lambda incident: services.set_components(incident=incident, by=request.user,
                                                         states=form.component_states()),
                "Components updated.")  # fmt: skip


@login_required
@require_GET
def incident_metrics(request):
    """MTTA and MTTR by severity over a range, per day, week or month (the API's figures)."""
    if refused := _refused(request):
        return refused
    form = MetricsRangeForm(request.GET or None)
    period, since, until = form.range()
    rows = metrics.incident_metrics(period=period, since=since, until=until)
    totals = metrics.severity_totals(rows)
    for figures in [*rows, *totals.values()]:
        for name in ("mtta", "mttr"):
            seconds = figures[f"{name}_seconds"]
            figures[f"{name}_words"] = "—" if seconds is None else duration_words(seconds / 60)
    by_period: dict = {}
    for row in rows:
        by_period.setdefault(row["period_start"], {})[row["severity"]] = row
    severities = [(value, label) for value, label in Severity.choices]
    context = {
        "form": form,
        "severities": severities,
        "totals": [(label, totals.get(value)) for value, label in severities],
        "periods": [
            (start, [cells.get(value) for value, _ in severities])
            for start, cells in sorted(by_period.items(), reverse=True)
        ],
        "period": period,
        "since": since,
        "last_day": (until - timedelta(days=1)).date(),
    }
    return render(request, "incidents/desk/metrics.html", context)
