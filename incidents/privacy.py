"""What incidents hold about a person (`core.privacy`): their status-page subscription.

Erasure deletes the subscription (it is nothing but the address and its choices).
"""

from core import privacy

from .models import StatusSubscriber


def export(subject: privacy.Subject, archive: privacy.Archive) -> None:
    archive.add(
        "status_subscriptions",
        [
            {
                "email": s.email,
                "components": sorted(s.components.values_list("name", flat=True)),
                "confirmed_at": s.confirmed_at and s.confirmed_at.isoformat(),
                "created_at": s.created_at.isoformat(),
            }
            for s in StatusSubscriber.objects.with_email(subject.email)
        ],
    )


def erase(subject: privacy.Subject, holds: privacy.Holds) -> dict[str, int]:
    return {"status_subscriptions": StatusSubscriber.objects.with_email(subject.email).delete()[0]}


def register() -> None:
    privacy.register(
        privacy.Part(
            name="incidents", models=("incidents.StatusSubscriber",), export=export, erase=erase
        )
    )
    privacy.exempt(
        [
            "incidents.Component",
            "incidents.Incident",
            "incidents.IncidentComponent",
            "incidents.IncidentUpdate",
            "incidents.IncidentTicket",
            "incidents.IncidentArticle",
            "incidents.Maintenance",
            "incidents.MaintenanceUpdate",
            "incidents.BannerImpression",
            "incidents.IncidentEvent",
            "incidents.ComponentEvent",
            "incidents.PostMortem",
            "incidents.ActionItem",
        ],
        "operational records written by staff; people appear only as account ids",
    )
