import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone

from core.roles import Role
from tests.factories import UserFactory


@pytest.fixture
def reviewer(db):
    return UserFactory(roles=[Role.REVIEWER], full_name="Rita Reviewer")


@pytest.fixture
def technician(db):
    return UserFactory(roles=[Role.TECHNICIAN], full_name="Ted Technician")


@pytest.fixture
def owner(db, organization):
    return UserFactory(roles=[Role.CUSTOMER], organization=organization, time_zone="Europe/Berlin")


@pytest.fixture
def other_owner(db):
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

    def set(self, at):
        self.at = at
        return at


@pytest.fixture
def clock():
    frozen = Clock(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC))
    with mock.patch.object(timezone, "now", frozen):
        yield frozen
