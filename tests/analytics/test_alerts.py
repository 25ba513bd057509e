"""Alerts to leads: each fires when its condition holds, once per condition and period, and
never when it does not."""

import datetime as dt

import pytest

from analytics import alerts
from analytics.models import AlertSent
from analytics.tasks import send_alerts
from core.models import OutboxMessage
from knowledge import services as knowledge_services
from support.models import AgentProfile

from ..factories import UserFactory
from ..knowledge.factories import make_article
from .factories import World, assign, frozen, reply, ticket

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 14, 40, tzinfo=dt.UTC)


@pytest.fixture
def world(settings):
    settings.ANALYTICS_TIME_ZONE = "UTC"
    settings.ANALYTICS_SPIKE_FACTOR = 3
    settings.ANALYTICS_SPIKE_MIN_TICKETS = 5
    return World()


def rules_sent(now=NOW):
    with frozen(now):
        return alerts.check_alerts(now=now)


def test_nothing_fires_on_a_quiet_day(world):
    with frozen(NOW - dt.timedelta(minutes=30)):
        ticket(world)
    assert rules_sent() == []
    assert not OutboxMessage.objects.filter(key__startswith="analytics:").exists()


def test_a_volume_spike_fires_once_for_its_hour(world):
    # Usually two tickets in the 14:00 hour; today six by 14:40.
    for back in range(1, 29):
        with frozen(NOW - dt.timedelta(days=back, minutes=10)):
            ticket(world)
            ticket(world)
    with frozen(NOW - dt.timedelta(minutes=30)):
        for _ in range(5):
            ticket(world)
    assert rules_sent() == []  # five is 2.5 times the usual two
    with frozen(NOW - dt.timedelta(minutes=5)):
        ticket(world)
    assert rules_sent() == ["spike:2026-11-20:14"]
    assert rules_sent(NOW + dt.timedelta(minutes=5)) == []  # the same hour: not again
    lead_note = OutboxMessage.objects.get(key__startswith="analytics:spike", channel="in_app")
    assert lead_note.recipient_user == world.lead and "6 tickets" in lead_note.subject
    assert (
        OutboxMessage.objects.filter(key__startswith="analytics:spike", channel="email").count()
        == 1
    )


def test_an_agent_over_capacity_fires_once_a_day(world):
    agent = world.agents[0]
    AgentProfile.objects.update_or_create(user=agent, defaults={"capacity": 2})
    with frozen(NOW - dt.timedelta(hours=2)):
        for _ in range(2):
            assign(world, ticket(world), agent)
    assert rules_sent() == []  # at capacity is not over it
    with frozen(NOW - dt.timedelta(hours=1)):
        assign(world, ticket(world), agent)
    assert rules_sent() == [f"capacity:{agent.pk}:2026-11-20"]
    assert rules_sent(NOW + dt.timedelta(hours=1)) == []
    assert rules_sent(NOW + dt.timedelta(days=1)) == [f"capacity:{agent.pk}:2026-11-21"]


def test_a_team_below_its_sla_target_fires_once_a_day(world, settings):
    settings.ANALYTICS_SLA_TARGET = 0.9
    agent = world.agents[0]
    start = NOW.replace(hour=1, minute=0)
    with frozen(start) as clock:
        made = [ticket(world, team=0) for _ in range(10)]
        clock.at = start + dt.timedelta(minutes=30)  # medium: 240 minutes to answer
        for t in made[:9]:
            reply(t, agent)
    assert rules_sent() == []  # 9 of 10 clocks on time... one still running: 9 of 9
    with frozen(start + dt.timedelta(hours=6)):
        reply(made[9], agent)  # late: 9 of 10 on time is the target, not below it
    assert rules_sent() == []
    with frozen(start + dt.timedelta(hours=7)):
        late = ticket(world, team=0)
    with frozen(start + dt.timedelta(hours=12)):
        reply(late, agent)  # 9 of 11
    sent = rules_sent(NOW.replace(hour=13, minute=30))
    assert sent == [f"team-sla:{world.teams[0].pk}:2026-11-20"]
    assert rules_sent(NOW.replace(hour=13, minute=40)) == []


def test_a_poorly_rated_article_fires_once_a_week(world):
    article = make_article(by=world.lead, title="Reset your router")
    for rating in (1, 2, 2, 3):
        knowledge_services.give_feedback(article=article, user=UserFactory(), rating=rating)
    assert rules_sent() == []  # four ratings are too few
    knowledge_services.give_feedback(article=article, user=UserFactory(), rating=1)
    assert rules_sent() == [f"article:{article.pk}:2026-W47"]
    assert rules_sent(NOW + dt.timedelta(days=1)) == []
    assert AlertSent.objects.count() == 1


def test_the_task_calls_the_rules(world):
    with frozen(NOW):
        assert send_alerts() == 0


def test_the_spike_rule_reads_only_its_hour_windows(world, django_assert_max_num_queries):
    with frozen(NOW), django_assert_max_num_queries(1) as captured:
        alerts.volume_spike(NOW)
    sql = captured.captured_queries[0]["sql"]
    assert sql.count('"support_ticket"."created_at" >=') >= 29  # a WHERE of the windows
