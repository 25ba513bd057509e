import pytest

from incidents import statuspage


@pytest.fixture(autouse=True)
def _fresh_status_page():
    """Each test reads a status page built from its own data, never a page an earlier test of
    this worker left in the cache (the cache outlives the test's rolled-back database)."""
    statuspage.invalidate()
