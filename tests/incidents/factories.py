from datetime import datetime
from unittest import mock

from incidents import services
from incidents.models import Category, Component, Impact, Severity


def make_component(name="API", group="Platform", order=0, **fields) -> Component:
    return Component.objects.create(name=name, group=group, order=order, **fields)


def make_incident(*, by, title="Checkout fails", severity=Severity.HIGH, **fields):
    """An incident declared as staff declare them: through the service (numbered, audited)."""
    fields.setdefault("category", Category.OUTAGE)
    fields.setdefault("impact", Impact.MAJOR)
    return services.create_incident(by=by, title=title, severity=severity, **fields)


def at(moment: str | datetime):
    """The clock stands at `moment` (ISO 8601) for every service: time is moved, never slept."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return mock.patch("django.utils.timezone.now", return_value=moment)
