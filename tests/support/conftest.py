import pytest

from .factories import make_default_sla_policies


@pytest.fixture(autouse=True)
def default_sla_policies(db):
    """The seeded defaults of DESIGN §4, 24/7."""
    make_default_sla_policies()
