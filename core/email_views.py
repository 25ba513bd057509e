"""Pages that e-mails link to: one-click unsubscribe and confirming a suppressed address again.

Both are opened from an e-mail, often by someone not signed in: the signed token in the URL is
the authority, and it names one address (and one category) only.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .notifications import consent, suppression


@csrf_exempt  # RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click` with no CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """GET: a page with a button (link scanners open links; nothing changes on GET).
    POST (the button, or the mail client's one-click): the address stops that category."""
    scope = consent.read_unsubscribe_token(token)
    if scope is None:
        raise Http404("This unsubscribe link is not valid.")
    address, category = scope
    label = consent.EmailCategory(category).label
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        consent.opt_out(
            address=address, category=category, source="one-click" if one_click else "link"
        )
        return render(
            request, "core/unsubscribed.html", {"address": address, "category_label": label}
        )
    return render(
        request,
        "core/unsubscribe.html",
        {"address": address, "category_label": label, "token": token},
    )


@login_required
@require_POST
def request_email_confirmation(request):
    """The preferences page's button: one e-mail to the signed-in user's suppressed address."""
    if suppression.request_confirmation(user=request.user) is None:
        messages.info(request, "Your address is not blocked; nothing to confirm.")
    else:
        messages.success(
            request, f"We sent a confirmation e-mail to {request.user.email}. Open its link."
        )
    return redirect("preferences")


@never_cache
def confirm_email(request, token):
    """The link of the confirmation e-mail: reaching it proves mail arrives, so it lifts the
    suppression (idempotent; the token names one suppression of one address)."""
    confirmed = suppression.confirm(token)
    return render(
        request,
        "core/email_confirmed.html",
        {"suppression": confirmed},
        status=200 if confirmed else 400,
    )
