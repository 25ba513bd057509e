import pytest

from core.roles import Role
from tests.factories import UserFactory

from .factories import make_person, make_staff


@pytest.fixture
def staff(db):
    return make_staff()


@pytest.fixture
def second_lead(db):
    return UserFactory(roles=[Role.SUPPORT_LEAD], full_name="Sam Second")


@pytest.fixture
def alice(staff):
    return make_person(staff, "zorblatt")


@pytest.fixture
def bob(staff):
    return make_person(staff, "quixmont")
