"""The public status page (`/status/`): no sign-in, served from the cache (`statuspage`).

Nothing here depends on who asks, so one rendering serves everyone: the pages carry no user,
no CSRF token and times in UTC. A request on a warm cache reads two cache keys and no table.
"""

import json

from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_safe

from core.inputs import parse_count

from . import statuspage
from .models import ACTIVE_STATUSES, Status

BANNER_COUNT = 2  # the newest, and whether there are more
PUBLIC_MAX_AGE = 30  # seconds a browser or proxy may reuse an anonymous answer


def _public(response: HttpResponse) -> HttpResponse:
    # The privacy middleware still marks a signed-in caller's answer private.
    response["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    return response


@require_safe
def status_page(request):
    def build():
        data, expires = statuspage.summary()
        return render_to_string("status/page.html", data), expires

    return _public(HttpResponse(statuspage.cached("page", build)))


@require_safe
def summary_json(request):
    def build():
        data, expires = statuspage.summary()
        return json.dumps(statuspage.summary_json(data)), expires

    return _public(
        HttpResponse(statuspage.cached("summary.json", build), content_type="application/json")
    )


@require_safe
def history(request):
    number = parse_count(request.GET.get("page", "1"), minimum=1, maximum=10_000)
    if number is None:
        raise Http404

    def build():
        incidents, more = statuspage.history_page(number)
        context = {"incidents": incidents, "page": number, "more": more}
        return render_to_string("status/history.html", context), None

    return _public(HttpResponse(statuspage.cached(f"history:{number}", build)))


@require_safe
def incident_page(request, number):
    def build():
        incident = statuspage.public_incident(number)
        if incident is None:
            return "", None  # remembered as missing until the next change
        return render_to_string("status/incident.html", {"incident": incident}), None

    html = statuspage.cached(f"incident:{number.upper()}", build)
    if not html:
        raise Http404
    return _public(HttpResponse(html))


@require_safe
def feed(request):
    def build():
        feed = Atom1Feed(
            title="Service status",
            link=request.build_absolute_uri(reverse("status-page")),
            description="Incidents and their public updates.",
            feed_url=request.build_absolute_uri(reverse("status-feed")),
        )
        for update in statuspage.feed_updates():
            incident = update.incident
            url = request.build_absolute_uri(reverse("status-incident", args=[incident.number]))
            feed.add_item(
                title=f"{incident.title}: {Status(update.status).label}",
                link=url,
                description=update.body or Status(update.status).label,
                unique_id=f"{url}#update-{update.pk}",
                updateddate=update.created_at,
                pubdate=update.created_at,
            )
        return feed.writeString("utf-8"), None

    return _public(
        HttpResponse(statuspage.cached("feed", build), content_type="application/atom+xml")
    )


def incident_banner(request):
    """The help center's banner while a public incident is active (`core.shell`): names the
    newest one and links to its status page. One small indexed query on every help page,
    whatever the data: a cache would make the first page after a change cost more than the
    next, and the shell promises a constant number of queries."""
    active = list(
        statuspage.public_incidents()
        .filter(status__in=ACTIVE_STATUSES)
        .order_by("-detected_at", "-pk")
        .values_list("number", "title", "status")[:BANNER_COUNT]
    )
    if not active:
        return None
    number, title, status = active[0]
    more = " (and more)" if len(active) > 1 else ""
    return "core/_banner.html", {
        "message": f"Known incident: {title} — {Status(status).label.lower()}{more}.",
        "level": "error",
        "url": reverse("status-incident", args=[number]),
        "link_label": "Status page",
    }
