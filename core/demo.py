"""Demo data: each app registers a seeder; `manage.py seed_demo` runs them in order.

Seeders are idempotent (they look things up by natural keys before creating), so running the
command again changes nothing.
"""

import datetime as dt
from collections.abc import Callable

from django.contrib.auth.models import Group
from django.db import transaction

from .models import BusinessCalendar, Holiday, Organization, User, WorkingInterval
from .models.users import CustomerTier
from .roles import Role

DEMO_PASSWORD = "demo-pass-2026"

SEEDERS: list[tuple[int, str, Callable[[], None]]] = []


def register_seeder(order: int, name: str, seeder: Callable[[], None]) -> None:
    if all(existing != name for _, existing, _ in SEEDERS):
        SEEDERS.append((order, name, seeder))


def run_seeders(log: Callable[[str], None] = print) -> None:
    for _, name, seeder in sorted(SEEDERS, key=lambda entry: entry[0]):
        with transaction.atomic():
            seeder()
        log(f"seeded {name}")


ORGANIZATIONS = [
    ("Acme Corporation", "acme", CustomerTier.ENTERPRISE, "acme.example"),
    ("Globex", "globex", CustomerTier.PROFESSIONAL, "globex.example"),
    ("Initech", "initech", CustomerTier.STANDARD, "initech.example"),
    ("Hobby Makers", "hobby-makers", CustomerTier.FREE, "hobby.example"),
]

# (email, full name, roles, organisation slug or None, time zone, organisation admin)
PEOPLE = [
    ("admin@example.com", "Ada Admin", [Role.ADMIN], None, "Europe/Berlin", False),
    ("lead@example.com", "Lena Lead", [Role.SUPPORT_LEAD], None, "Europe/Berlin", False),
    ("alice@example.com", "Alice Agent", [Role.AGENT], None, "Europe/Berlin", False),
    ("bob@example.com", "Bob Agent", [Role.AGENT], None, "Europe/Berlin", False),
    ("carol@example.com", "Carol Agent", [Role.AGENT], None, "America/New_York", False),
    ("dave@example.com", "Dave Agent", [Role.AGENT], None, "America/New_York", False),
    ("rita@example.com", "Rita Reviewer", [Role.REVIEWER], None, "Europe/London", False),
    ("tom@example.com", "Tom Technician", [Role.TECHNICIAN], None, "Europe/London", False),
    ("wile@acme.example", "Wile E. Coyote", [Role.CUSTOMER], "acme", "America/Phoenix", True),
    ("road@acme.example", "Road Runner", [Role.CUSTOMER], "acme", "America/Phoenix", False),
    ("hank@globex.example", "Hank Scorpio", [Role.CUSTOMER], "globex", "America/Chicago", True),
    ("peter@initech.example", "Peter Gibbons", [Role.CUSTOMER], "initech", "America/Denver", False),
    (
        "milton@initech.example",
        "Milton Waddams",
        [Role.CUSTOMER],
        "initech",
        "America/Denver",
        False,
    ),
    ("fran@hobby.example", "Fran Maker", [Role.CUSTOMER], "hobby-makers", "Europe/Paris", False),
]

DEMO_LOGINS = [(email, roles[0].label) for email, _, roles, *_ in PEOPLE]


def seed_people() -> None:
    organizations = {}
    for name, slug, tier, domain in ORGANIZATIONS:
        organizations[slug], _ = Organization.objects.get_or_create(
            slug=slug, defaults={"name": name, "tier": tier, "email_domain": domain}
        )
    for email, full_name, roles, org_slug, zone, org_admin in PEOPLE:
        user = User.objects.with_email(email).first()
        if user is None:
            user = User.objects.create_user(
                email=email,
                password=DEMO_PASSWORD,
                full_name=full_name,
                organization=organizations.get(org_slug),
                is_organization_admin=org_admin,
                time_zone=zone,
                is_staff=Role.ADMIN in roles or Role.SUPPORT_LEAD in roles,
                is_superuser=Role.ADMIN in roles,
            )
        user.groups.add(*(Group.objects.get(name=role.value) for role in roles))


def _office(name: str, zone: str, start: dt.time, end: dt.time, holidays) -> None:
    calendar, created = BusinessCalendar.objects.get_or_create(
        name=name, defaults={"time_zone": zone}
    )
    if created:
        WorkingInterval.objects.bulk_create(
            WorkingInterval(calendar=calendar, weekday=day, start_time=start, end_time=end)
            for day in range(5)
        )
    for day, label in holidays:
        Holiday.objects.get_or_create(calendar=calendar, date=day, defaults={"name": label})


def seed_calendars() -> None:
    _office(
        "Berlin office hours",
        "Europe/Berlin",
        dt.time(8),
        dt.time(18),
        [
            (dt.date(2026, 12, 24), "Christmas Eve"),
            (dt.date(2026, 12, 25), "Christmas Day"),
            (dt.date(2026, 12, 26), "Boxing Day"),
            (dt.date(2027, 1, 1), "New Year's Day"),
        ],
    )
    _office(
        "New York office hours",
        "America/New_York",
        dt.time(9),
        dt.time(17),
        [
            (dt.date(2026, 11, 26), "Thanksgiving"),
            (dt.date(2026, 12, 25), "Christmas Day"),
            (dt.date(2027, 1, 1), "New Year's Day"),
        ],
    )


register_seeder(10, "people and organisations", seed_people)
register_seeder(20, "business calendars", seed_calendars)
