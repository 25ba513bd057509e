"""The desk's privacy page (support leads and admins): requests, confirmation, progress, the
signed download, legal holds."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.attachments import file_response
from core.errors import DomainError
from core.models import Organization
from support.models import Ticket

from . import permissions, retention, selectors, services
from .models import LegalHold, PrivacyRequest


def _refused(request):
    if not permissions.can_manage(request.user):
        return render(request, "403.html", status=403)
    return None


@login_required
@never_cache
def privacy_page(request):
    refused = _refused(request)
    if refused:
        return refused
    status = 200
    if request.method == "POST":
        try:
            services.create_request(
                by=request.user,
                kind=request.POST.get("kind", ""),
                email=request.POST.get("email", ""),
                include_internal_notes=request.POST.get("include_internal_notes") == "on",
                reason=request.POST.get("reason", ""),
            )
            messages.success(request, "Request recorded.")
            return redirect("privacy:desk")
        except DomainError as exc:
            messages.error(request, exc.message)
            status = 400
    rows = list(selectors.requests_list()[: selectors.LIST_SHOWN])
    for row in rows:
        row.download = services.download_url(row)
        row.may_confirm = permissions.can_confirm(request.user, row)
    return render(
        request,
        "privacy/desk.html",
        {
            "requests": rows,
            "holds": selectors.active_holds_list(),
            "retention": retention.overview(),
        },
        status=status,
    )


@login_required
@require_POST
def request_action(request, pk: int, step: str):
    refused = _refused(request)
    if refused:
        return refused
    row = get_object_or_404(PrivacyRequest, pk=pk)
    actions = {"approve": services.approve, "reject": services.reject, "cancel": services.cancel}
    if step not in actions:
        raise Http404
    try:
        actions[step](request=row, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("privacy:desk")


@login_required
@require_POST
def hold_action(request):
    refused = _refused(request)
    if refused:
        return refused
    try:
        if request.POST.get("release"):
            hold = get_object_or_404(LegalHold, pk=request.POST["release"])
            services.release_hold(hold=hold, by=request.user)
        else:
            organization = ticket = None
            if request.POST.get("organization"):
                organization = Organization.objects.filter(
                    slug=request.POST["organization"]
                ).first()
                if organization is None:
                    raise DomainError("No organisation with that slug.")
            if request.POST.get("ticket"):
                ticket = Ticket.objects.filter(
                    number=request.POST["ticket"].strip().upper()
                ).first()
                if ticket is None:
                    raise DomainError("No ticket with that number.")
            services.place_hold(
                by=request.user,
                reason=request.POST.get("reason", ""),
                organization=organization,
                ticket=ticket,
            )
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("privacy:desk")


@login_required
@never_cache
def download(request, token: str):
    refused = _refused(request)
    if refused:
        return refused
    try:
        row = services.open_download(token, by=request.user)
    except signing.BadSignature as exc:
        raise Http404("This link no longer opens an export.") from exc
    return file_response(
        row.archive.storage,
        row.archive.name,
        filename=f"{row.number}.zip",
        content_type="application/zip",
    )
