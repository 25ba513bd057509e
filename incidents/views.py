"""The public status page (`/status/`): no sign-in, served from the cache (`statuspage`).

Nothing here depends on who asks, so one rendering serves everyone: the pages carry no user,
no CSRF token and times in UTC. A request on a warm cache reads two cache keys and no table.
"""

import json
import re

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.feedgenerator import Atom1Feed
from django.utils.text import compress_string
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from core import ratelimits
from core.inputs import parse_count

from . import deflection, statuspage, subscribers
from .models import ACTIVE_STATUSES, Component, Status

BANNER_COUNT = 2  # the newest, and whether there are more


def _public(response: HttpResponse) -> HttpResponse:
    # Anyone may store it, but must ask again each time: our own cache makes asking cheap, and
    # a resolved incident must not linger in browsers. (The privacy middleware still marks a
    # signed-in caller's answer private.)
    response["Cache-Control"] = "public, no-cache"
    return response


_ACCEPTS_GZIP = re.compile(r"\bgzip\b")


def _compressed_once(request, name: str, build, content_type: str) -> HttpResponse:
    """The cached page, gzipped once per version beside the plain bytes: during an outage this
    is the most read page of the site, and a browser takes its ~200 kB as ~20 kB for no work
    per request. (It holds nothing secret, so compression reveals nothing: no BREACH.)"""

    def both():
        text, expires = build()
        plain = text.encode()
        return (plain, compress_string(plain)), expires

    plain, packed = statuspage.cached(f"{name}+gzip", both)  # its own key: (plain, gzipped)
    if _ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")) and len(packed) < len(
        plain
    ):
        response = HttpResponse(packed, content_type=content_type)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(plain, content_type=content_type)
    patch_vary_headers(response, ["Accept-Encoding"])
    return _public(response)


@require_safe
def status_page(request):
    def build():
        data, expires = statuspage.summary()
        return render_to_string("status/page.html", data), expires

    return _compressed_once(request, "page", build, "text/html; charset=utf-8")


@require_safe
def summary_json(request):
    def build():
        data, expires = statuspage.summary()
        return json.dumps(statuspage.summary_json(data)), expires

    return _compressed_once(request, "summary.json", build, "application/json")


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
        .values_list("pk", "number", "title", "status")[:BANNER_COUNT]
    )
    if not active:
        return None
    pk, number, title, status = active[0]
    deflection.record_contact_form_banner(request, [pk])
    more = " (and more)" if len(active) > 1 else ""
    return "core/_banner.html", {
        "message": f"Known incident: {title} — {Status(status).label.lower()}{more}.",
        "level": "error",
        "url": reverse("status-incident", args=[number]),
        "link_label": "Status page",
    }


# --- subscribers (not cached: these pages carry a form and a CSRF token) ------------------------


class SubscribeForm(forms.Form):
    email = forms.EmailField(max_length=254)
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.order_by("group", "order", "name", "pk"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to hear about every component.",
    )


@never_cache
@require_http_methods(["GET", "POST"])
def subscribe(request):
    form = SubscribeForm(request.POST or None)
    if request.method == "POST":
        if ratelimits.exceeded(request, ratelimits.CONTACT):
            return render(request, "status/subscribe.html", {"form": form, "limited": True},
                          status=429)  # fmt: skip
        if form.is_valid():
            subscribers.subscribe(
                email=form.cleaned_data["email"], components=form.cleaned_data["components"]
            )
            # The same answer whether or not the address was subscribed already.
            return render(request, "status/subscribe_sent.html")
    return render(request, "status/subscribe.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def confirm_subscription(request, token):
    """GET shows a button (mail scanners open links); POST confirms."""
    if request.method == "GET":
        return render(request, "status/confirm.html", {"token": token})
    subscriber = subscribers.confirm(token)
    if subscriber is None:
        raise Http404("This confirmation link is not valid or has expired.")
    return render(request, "status/confirmed.html", {"subscriber": subscriber})


@csrf_exempt  # RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click` with no CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    subscriber = subscribers.subscriber_for_unsubscribe(token)
    if subscriber is None:
        raise Http404("This unsubscribe link is not valid.")
    if request.method == "POST":
        subscribers.unsubscribe(subscriber)
        return render(request, "status/unsubscribed.html", {"email": subscriber.email})
    return render(request, "status/unsubscribe.html", {"email": subscriber.email, "token": token})
