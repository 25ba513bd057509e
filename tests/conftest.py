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
