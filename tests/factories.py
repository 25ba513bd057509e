import datetime as dt

import factory
from django.contrib.auth.models import Group

from core.models import BusinessCalendar, Holiday, Organization, User, WorkingInterval
from core.models.users import CustomerTier


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    tier = CustomerTier.STANDARD


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Sequence(lambda n: f"User {n}")
    password = factory.django.Password("pw-for-tests-1")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*(Group.objects.get_or_create(name=str(r))[0] for r in extracted))


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    """Monday to Friday, 09:00-17:00 in the given zone."""

    class Meta:
        model = BusinessCalendar
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Calendar {n}")
    time_zone = "Europe/Berlin"

    @factory.post_generation
    def office_hours(self, create, extracted, **kwargs):
        if not create or extracted is False:
            return
        WorkingInterval.objects.bulk_create(
            WorkingInterval(calendar=self, weekday=day, start_time=dt.time(9), end_time=dt.time(17))
            for day in range(5)
        )


class HolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holiday

    calendar = factory.SubFactory(BusinessCalendarFactory)
    date = dt.date(2026, 12, 25)
    name = "Christmas Day"
