"""How often the incident banner stopped a new ticket (issue 13).

While a public incident is active, the help center's contact form shows a banner naming it.
Each person shown that banner on the contact form is recorded once per incident (their user or
session, hashed as the knowledge base's suggestions are); filing a request within
`DEFLECTION_WINDOW` afterwards marks the impression "followed". An impression older than the
window with no request after it is a deflection: the person read the banner and did not write.
Support tells us about a filed request through `support.signals.request_filed` (it cannot
import this app).
"""

from django.db.models import Count, Q
from django.utils import timezone

from knowledge.services import DEFLECTION_WINDOW, viewer_key
from knowledge.viewcounts import is_bot

from .models import BannerImpression

CONTACT_FORM = "help-new-ticket"


def _viewer_keys(user, session_key: str) -> set[str]:
    return {viewer_key(user=user), viewer_key(session_key=session_key)} - {""}


def record_contact_form_banner(request, incident_ids) -> None:
    """The banner naming `incident_ids` is being shown: count it if this is the contact form,
    read by a person (not a bot, not a form sent back with errors)."""
    match = getattr(request, "resolver_match", None)
    if request.method != "GET" or match is None or match.url_name != CONTACT_FORM:
        return
    if is_bot(request.META.get("HTTP_USER_AGENT", "")):
        return
    user = request.user
    if not user.is_authenticated and not request.session.session_key:
        # A visitor without a session yet: start one, so a request they file is recognised.
        request.session.save()
        request.session.modified = True  # the middleware then sends its cookie
    key = viewer_key(user=user, session_key=request.session.session_key or "")
    if key:
        BannerImpression.objects.bulk_create(
            [BannerImpression(incident_id=pk, viewer=key) for pk in incident_ids],
            ignore_conflicts=True,  # once per person and incident, however often they look
        )


def note_request_filed(sender=None, *, user=None, session_key: str = "", at=None, **kwargs):
    """A request was filed: the banners this person was shown in the window did not stop it."""
    at = at or timezone.now()
    keys = _viewer_keys(user, session_key)
    if keys:
        BannerImpression.objects.filter(
            viewer__in=keys, shown_at__gte=at - DEFLECTION_WINDOW, ticket_followed_at__isnull=True
        ).update(ticket_followed_at=at)


def banner_deflection(incident, *, now=None) -> dict:
    """Shown, followed by a request, and deflected (settled: shown longer than the window ago
    with no request after) for one incident's banner on the contact form."""
    now = now or timezone.now()
    settled = Q(shown_at__lt=now - DEFLECTION_WINDOW)
    figures = BannerImpression.objects.filter(incident=incident).aggregate(
        shown=Count("pk"),
        followed=Count("pk", filter=Q(ticket_followed_at__isnull=False)),
        deflected=Count("pk", filter=settled & Q(ticket_followed_at__isnull=True)),
        settled=Count("pk", filter=settled | Q(ticket_followed_at__isnull=False)),
    )
    settled_count = figures.pop("settled")
    figures["pending"] = figures["shown"] - settled_count
    figures["deflection_rate"] = figures["deflected"] / settled_count if settled_count else None
    return figures
