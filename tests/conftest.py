import uuid

import pytest
from rest_framework.test import APIClient

from core.roles import Role

from .factories import OrganizationFactory, UserFactory


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def customer(db, organization):
    return UserFactory(roles=[Role.CUSTOMER], organization=organization)


@pytest.fixture
def agent(db):
    return UserFactory(roles=[Role.AGENT], full_name="Avery Agent")


@pytest.fixture
def lead(db):
    return UserFactory(roles=[Role.SUPPORT_LEAD], full_name="Lee Lead")


@pytest.fixture
def admin_user(db):
    return UserFactory(roles=[Role.ADMIN], is_staff=True, is_superuser=True)


@pytest.fixture(scope="session", autouse=True)
def _no_stray_connections_at_the_end(request, django_db_setup, django_db_blocker):
    """End other sessions on this worker's test database before pytest-django drops it.

    Celery workers and live-server threads started by tests may still hold a connection when
    the session ends, and PostgreSQL refuses to drop a database in use (a teardown warning).
    Without --reuse-db the database is this run's own (another run using the same name would
    have failed to create it); with it, the database is kept and may be shared, so leave it.
    """
    yield
    if request.config.getoption("reuse_db", default=False):
        return
    from django.db import DatabaseError, connection

    if connection.vendor != "postgresql" or not connection.settings_dict["NAME"].startswith("test"):
        return  # not on a test database (a run that never set one up): nothing to end
    try:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    except DatabaseError:
        pass  # the database is already gone: so are its sessions


@pytest.fixture
def fresh_rate_limits(settings):
    """Rate-limit counters of this test only (clearing the cache would wipe other workers' keys)."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl-{uuid.uuid4().hex}:"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Refuse to run when `--dist loadgroup` would not keep an xdist group on one process.

    The real-worker and browser tests share Redis databases and ports per group; spread over two
    processes they steal each other's tasks (pytest 9.2 silently broke the grouping once).
    """
    if not getattr(config.option, "loadgroup", False):
        return
    ungrouped = [
        item.nodeid
        for item in items
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid
    ]
    if ungrouped:
        raise pytest.UsageError(
            f"--dist loadgroup is not grouping {len(ungrouped)} tests (first: {ungrouped[0]}); "
            "check the pytest / pytest-xdist versions"
        )
