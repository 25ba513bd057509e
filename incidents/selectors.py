"""Reading incidents for the desk and the API (the status page reads in `statuspage`)."""

from django.db.models import Count, Prefetch, Q

from support.models.choices import ACTIVE_STATUSES as TICKET_ACTIVE

from .models import Incident, IncidentComponent


def incidents_with_details():
    """Incidents with what a detail or list row shows, in a constant number of queries:
    commander, post-mortem, affected components, and the count of open linked tickets."""
    return (
        Incident.objects.select_related("commander", "postmortem")
        .prefetch_related(
            Prefetch(
                "affected",
                queryset=IncidentComponent.objects.select_related("component").order_by(
                    "component__group", "component__order", "component__name"
                ),
            )
        )
        .annotate(
            open_ticket_count=Count(
                "ticket_links", filter=Q(ticket_links__ticket__status__in=TICKET_ACTIVE)
            )
        )
        .order_by("-detected_at", "-pk")
    )
