"""The demo data `make run` starts with tells a story: a queue a team can hold, most tickets on
track, a few at risk and a few breached, agents within their capacity, and a booking in each
state. Seeded once for every story (the seeders take ~25 s), then again to show nothing doubles.
"""

import pytest
from django.db.models import Count, Q
from django.utils import timezone

from bookings.models import Booking, Review
from core.demo import run_seeders
from support import monitor
from support.models import AgentProfile, Ticket, TicketEvent
from support.models.choices import ACTIVE_STATUSES

pytestmark = pytest.mark.django_db


def the_queue_is_mostly_on_track_and_within_capacity():
    now = timezone.now()
    monitor.run_monitor(now=now)
    active = Ticket.objects.filter(status__in=ACTIVE_STATUSES)
    total = active.count()
    breached = active.filter(
        Q(response_breached=True) | Q(resolution_breached=True) | Q(sla_due_at__lte=now)
    ).count()
    warned = active.filter(Q(response_warned=True) | Q(resolution_warned=True)).count()
    assert 40 <= total <= 100
    assert 0 < breached <= total * 0.2, (breached, total)
    assert warned > breached  # some at risk beside the breached ones
    loads = dict(
        active.exclude(assigned_to=None)
        .values("assigned_to")
        .annotate(n=Count("pk"))
        .values_list("assigned_to", "n")
    )
    for profile in AgentProfile.objects.filter(user_id__in=loads):
        assert loads[profile.user_id] <= profile.capacity, (profile.user, loads[profile.user_id])
    # Nothing seeded happens in the future.
    assert not TicketEvent.objects.filter(created_at__gt=timezone.now()).exists()


def there_is_a_booking_in_each_state():
    states = set(Booking.objects.values_list("status", flat=True))
    assert states == {"scheduled", "in_progress", "pending_completion", "verified"}
    overdue = Booking.objects.get(service="Repair the garage door")
    assert overdue.in_follow_up and overdue.support_ticket is not None
    assert overdue.contact_attempts.count() == 1
    rejected = Booking.objects.get(service="Rewire the desk lamp")
    assert rejected.support_ticket.priority == "high"
    assert Review.objects.count() == 1


def test_the_demo_tells_its_stories_and_seeds_once():
    run_seeders(log=lambda line: None)
    the_queue_is_mostly_on_track_and_within_capacity()
    there_is_a_booking_in_each_state()
    counts = (Ticket.objects.count(), Booking.objects.count())
    run_seeders(log=lambda line: None)
    assert (Ticket.objects.count(), Booking.objects.count()) == counts
