"""The desk's webhook page (admins): subscriptions, a form to add one, send test, the log."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.errors import DomainError
from core.models import WebhookSubscription

from . import registry, services
from .permissions import can_manage_webhooks

LOG_SHOWN = 25


def _refused(request):
    if not can_manage_webhooks(request.user):
        return render(request, "403.html", status=403)
    return None


@login_required
@never_cache
def webhooks_page(request):
    """List and add subscriptions; the new secret is shown once, right after creation."""
    refused = _refused(request)
    if refused:
        return refused
    created = None
    status = 200
    if request.method == "POST":
        data = {
            "name": request.POST.get("name", ""),
            "url": request.POST.get("url", ""),
            "events": request.POST.getlist("events"),
        }
        try:
            created = services.create_subscription(by=request.user, data=data)
        except DomainError as exc:
            messages.error(request, " ".join([exc.message]))
            status = 400
    return render(
        request,
        "core/webhooks.html",
        {
            "subscriptions": WebhookSubscription.objects.order_by("name", "pk"),
            "events": registry.events(),
            "created": created,
        },
        status=status,
    )


def _subscription_or_404(pk):
    subscription = WebhookSubscription.objects.filter(pk=pk).first()
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription


@login_required
def webhook_detail(request, pk: int):
    """One subscription and its recent deliveries with their response codes."""
    refused = _refused(request)
    if refused:
        return refused
    subscription = _subscription_or_404(pk)
    deliveries = subscription.deliveries.order_by("-created_at", "-pk")[:LOG_SHOWN]
    return render(
        request, "core/webhook.html", {"subscription": subscription, "deliveries": deliveries}
    )


@login_required
@require_POST
def webhook_action(request, pk: int):
    """Send test, enable, disable or delete."""
    refused = _refused(request)
    if refused:
        return refused
    subscription = _subscription_or_404(pk)
    op = request.POST.get("op", "")
    try:
        if op == "test":
            services.send_test(subscription=subscription, by=request.user)
            messages.success(request, "Test delivery queued; its result appears below.")
        elif op in ("enable", "disable"):
            services.update_subscription(
                subscription=subscription, by=request.user, data={"active": op == "enable"}
            )
            messages.success(request, f"Subscription {op}d.")
        elif op == "delete":
            services.delete_subscription(subscription=subscription, by=request.user)
            messages.success(request, "Subscription deleted.")
            return redirect("desk-webhooks")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("desk-webhook", pk=subscription.pk)
