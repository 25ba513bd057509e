from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import shell
from .forms import PreferencesForm
from .health import readiness
from .notifications.services import mark_notifications_read
from .selectors import notifications_for

NOTIFICATIONS_PAGE_SIZE = 50


@require_GET
@never_cache
def healthz(request):
    """The process is up and serving; says nothing about its dependencies."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request):
    """Database, cache and broker reachable; a failing part is named and the answer is 503."""
    checks = readiness()
    failing = sorted(name for name, result in checks.items() if result != "ok")
    body = {"status": "unavailable" if failing else "ok", "failing": failing, "checks": checks}
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
    return render(request, "core/preferences.html", {"form": form})


@login_required
def notification_list(request):
    notifications = list(notifications_for(user=request.user)[:NOTIFICATIONS_PAGE_SIZE])
    return render(request, "core/notifications.html", {"notifications": notifications})


@login_required
@require_POST
def notifications_mark_read(request):
    raw_ids = request.POST.getlist("id")
    ids = [int(i) for i in raw_ids if i.isdigit()] or None
    mark_notifications_read(user=request.user, ids=ids)
    return redirect(request.POST.get("next") or reverse("notifications"))
