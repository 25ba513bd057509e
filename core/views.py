from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import shell
from .forms import PreferencesForm
from .health import may_see_details, readiness
from .notifications.services import mark_notifications_read
from .notifications.suppression import active_suppression
from .redirects import safe_next
from .selectors import grouped_notifications

NOTIFICATIONS_PAGE_SIZE = 50


@require_GET
@never_cache
def healthz(request):
    """The process is up and serving; says nothing about its dependencies."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request):
    """Database, cache and broker reachable, else 503.

    Which part fails, and why, is told only to staff and to callers on this machine
    (`core.health.may_see_details`): to anyone else it would map our infrastructure.
    """
    checks = readiness()
    failing = sorted(name for name, result in checks.items() if result != "ok")
    body = {"status": "unavailable" if failing else "ok"}
    if may_see_details(request):
        body.update(failing=failing, checks=checks)
    return JsonResponse(body, status=503 if failing else 200)


def home(request):
    """Each visitor lands on the home of their own area (`core.shell`, wired in config)."""
    return redirect(shell.home_url(request))


@login_required
def preferences(request):
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your preferences were saved.")
        return redirect("preferences")
    return render(
        request,
        "core/preferences.html",
        {"form": form, "suppression": active_suppression(request.user.email)},
    )


@login_required
def notification_list(request):
    notifications = grouped_notifications(user=request.user, limit=NOTIFICATIONS_PAGE_SIZE)
    return render(request, "core/notifications.html", {"notifications": notifications})


@login_required
@require_POST
def notifications_mark_read(request):
    raw_ids = request.POST.getlist("id")
    ids = [int(i) for i in raw_ids if i.isdigit()] or None
    mark_notifications_read(user=request.user, ids=ids)
    return redirect(safe_next(request, request.POST.get("next"), reverse("notifications")))


# --- error answers: the API's JSON format under /api/, our own pages elsewhere ----------------
# Wired as handler400/403/404/500 in config/urls.py, as CSRF_FAILURE_VIEW, and used by
# `core.middleware.RequestBodyLimitMiddleware` for bodies that are too large.


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _api_error(status: int, detail: str, code: str) -> JsonResponse:
    from .api.exceptions import error_body

    return JsonResponse(error_body(detail, code), status=status)


def _error_page(request, template: str, status: int, **context):
    return render(request, template, context, status=status)


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return request_too_large(request)
    if _is_api(request):
        return _api_error(400, "The request could not be read.", "bad_request")
    return defaults.bad_request(request, exception)


def malformed_request(request, detail: str):
    """A request refused at the boundary (`core.inputs`) before any view saw it."""
    if _is_api(request):
        return _api_error(400, detail, "malformed_request")
    return _error_page(request, "400.html", 400, detail=detail)


def permission_denied(request, exception=None):
    if _is_api(request):
        return _api_error(403, "You do not have permission to perform this action.", "forbidden")
    return _error_page(request, "403.html", 403)


def page_not_found(request, exception=None):
    if _is_api(request):
        return _api_error(404, "Not found.", "not_found")
    return _error_page(request, "404.html", 404)


def server_error(request):
    if _is_api(request):
        return _api_error(500, "Something went wrong on our side.", "server_error")
    # No request context: whatever failed (the database, a context processor) must not fail again.
    return HttpResponseServerError(loader.get_template("500.html").render())


def request_too_large(request):
    limit = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if _is_api(request):
        return _api_error(413, f"The request body is larger than {limit}.", "request_too_large")
    return _error_page(request, "413.html", 413, limit=limit)


def csrf_failure(request, reason=""):
    """A form posted without a valid CSRF token (often a page left open too long)."""
    if _is_api(request):
        return _api_error(403, f"CSRF check failed: {reason}", "csrf_failed")
    return _error_page(request, "403.html", 403, csrf_failed=True)
