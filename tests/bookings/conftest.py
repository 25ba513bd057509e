import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from core.roles import Role
from tests.factories import UserFactory
from tests.support.factories import make_default_sla_policies


@pytest.fixture(autouse=True)
def default_sla_policies(db):
    make_default_sla_policies()


@pytest.fixture
def technician(db):
    return UserFactory(roles=[Role.TECHNICIAN], full_name="Ted Technician")


@pytest.fixture
def other_technician(db):
    return UserFactory(roles=[Role.TECHNICIAN], full_name="Tina Technician")


@pytest.fixture
def other_customer(db):
    return UserFactory(roles=[Role.CUSTOMER])


class Clock:
    """`django.utils.timezone.now` frozen at a moment the test moves (never sleeps)."""

    def __init__(self, at):
        self.at = at

    def __call__(self):
        return self.at

    def move(self, **delta):
        self.at += dt.timedelta(**delta)
        return self.at


@pytest.fixture
def clock():
    frozen = Clock(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))
    with mock.patch.object(timezone, "now", frozen):
        yield frozen
