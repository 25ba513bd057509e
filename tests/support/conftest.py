import pytest

from support.models.choices import Priority

from .factories import SLAPolicyFactory


@pytest.fixture(autouse=True)
def default_sla_policies(db):
    """The seeded defaults of DESIGN §4, 24/7."""
    for priority, (response, resolution) in {
        Priority.URGENT: (15, 240),
        Priority.HIGH: (60, 480),
        Priority.MEDIUM: (240, 1440),
        Priority.LOW: (1440, 4320),
    }.items():
        SLAPolicyFactory(
            priority=priority, first_response_minutes=response, resolution_minutes=resolution
        )
