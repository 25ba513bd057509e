"""Reads the privacy pages and API share."""

from .models import LegalHold, PrivacyRequest

LIST_SHOWN = 50


def requests_list():
    return PrivacyRequest.objects.select_related("subject_user", "requested_by", "approved_by")


def active_holds_list():
    return LegalHold.objects.filter(released_at__isnull=True).select_related(
        "organization", "ticket", "placed_by"
    )
