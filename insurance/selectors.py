"""Reads: whose documents a user sees, the queue, and what a document page shows."""

import datetime as dt

from django.db.models import Prefetch, Q
from django.utils import timezone

from core import scheduling

from .models import DocumentActivity, InfoRequestItem, InsuranceDocument, Reminder, Status
from .permissions import is_owner_kind, is_reviewer

EXPIRING_WITHIN_DAYS = 30


def documents_for(user):
    """Reviewers see every document, owners their own, everyone else none (a 404, not a 403:
    another owner's document does not exist for them)."""
    documents = InsuranceDocument.objects.select_related("owner", "reviewer")
    if is_reviewer(user):
        return documents
    if user.is_authenticated and is_owner_kind(user):
        return documents.filter(owner=user)
    return documents.none()


def with_details(queryset):
    """The outstanding checklist items and the next pending reminder, in two more queries."""
    return queryset.prefetch_related(
        Prefetch(
            "info_requests__items",
            queryset=InfoRequestItem.objects.filter(
                fulfilled_at__isnull=True, request__fulfilled_at__isnull=True
            ).order_by("position"),
            to_attr="outstanding",
        ),
        Prefetch(
            "reminders",
            queryset=Reminder.objects.filter(state__in=scheduling.IN_FLIGHT).order_by(
                "due_at", "pk"
            ),
            to_attr="upcoming",
        ),
    )


def outstanding_items(document) -> list[InfoRequestItem]:
    requests = getattr(document, "_prefetched_objects_cache", {}).get("info_requests")
    if requests is not None:
        return [item for request in requests for item in getattr(request, "outstanding", [])]
    return list(
        InfoRequestItem.objects.filter(
            request__document=document,
            request__fulfilled_at__isnull=True,
            fulfilled_at__isnull=True,
        ).order_by("position")
    )


def outstanding_items_queryset(document):
    return InfoRequestItem.objects.filter(
        request__document=document, request__fulfilled_at__isnull=True, fulfilled_at__isnull=True
    )


def answered_items(document):
    return InfoRequestItem.objects.filter(request__document=document, fulfilled_at__isnull=False)


def next_reminder(document) -> Reminder | None:
    upcoming = getattr(document, "upcoming", None)
    if upcoming is not None:
        return upcoming[0] if upcoming else None
    return (
        Reminder.objects.filter(document=document, state__in=scheduling.IN_FLIGHT)
        .order_by("due_at", "pk")
        .first()
    )


def open_request(document):
    return (
        document.info_requests.filter(fulfilled_at__isnull=True).prefetch_related("items").first()
    )


def activities_of(document):
    return DocumentActivity.objects.filter(document=document).select_related("actor")


QUEUES = {
    "pending": ("Waiting for review", Q(status__in=[Status.SUBMITTED, Status.UNDER_REVIEW])),
    "info_requested": ("Information requested", Q(status=Status.INFO_REQUESTED)),
    "expiring": ("Expiring within 30 days", None),
    "expired": ("Expired", Q(status=Status.EXPIRED)),
}


def queue(name: str, *, today: dt.date | None = None):
    """One of the reviewer queues, oldest first (expiring: soonest end first)."""
    documents = InsuranceDocument.objects.select_related("owner", "reviewer")
    if name == "expiring":
        today = today or timezone.now().date()
        return documents.filter(
            status=Status.APPROVED,
            coverage_end__gte=today,
            coverage_end__lte=today + dt.timedelta(days=EXPIRING_WITHIN_DAYS),
        ).order_by("coverage_end", "pk")
    _, condition = QUEUES[name]
    order = ("-coverage_end", "-pk") if name == "expired" else ("submitted_at", "pk")
    return documents.filter(condition).order_by(*order)
