"""The usage monitor: hourly rollups, a spike alert once, the budget alert, retention; the usage
page for leads; sentiment raising (never lowering) priority suggestions."""

import datetime as dt

import pytest
from django.utils import timezone

from core.models import OutboxMessage
from support.assist import suggestions, usage
from support.assist.models import AIInteraction, DailyTokenUsage, Outcome, UsageAlert, UsageHour
from support.assist.sentiment import compound, is_english

NOW = dt.datetime(2026, 11, 30, 10, 5, tzinfo=dt.UTC)  # a Monday


def _calls(at, n, *, tokens=100, outcome=Outcome.SUCCESS, feature="query"):
    AIInteraction.objects.bulk_create(
        AIInteraction(created_at=at, feature=feature, provider="openai_compatible",
                      model_returned="gpt-test", input_tokens=tokens, output_tokens=0,
                      outcome=outcome, prompt="secret prompt", response="answer")
        for _ in range(n)
    )  # fmt: skip


def test_rollups_count_calls_errors_and_tokens_and_a_rerun_is_the_same(db):
    hour = NOW.replace(minute=0) - dt.timedelta(hours=1)
    _calls(hour + dt.timedelta(minutes=5), 3)
    _calls(hour + dt.timedelta(minutes=50), 1, outcome=Outcome.TIMEOUT)
    usage.roll_up(since=hour, until=hour + dt.timedelta(hours=1))
    usage.roll_up(since=hour, until=hour + dt.timedelta(hours=1))
    row = UsageHour.objects.get()
    assert (row.hour, row.calls, row.errors, row.input_tokens) == (hour, 4, 1, 400)


def test_a_leap_above_the_usual_hour_alerts_once(db, lead):
    hour = NOW.replace(minute=0) - dt.timedelta(hours=1)
    for week, n in zip(range(1, 5), (10, 12, 9, 11), strict=True):
        _calls(hour - dt.timedelta(weeks=week), n)
        usage.roll_up(
            since=hour - dt.timedelta(weeks=week), until=hour - dt.timedelta(weeks=week, hours=-1)
        )
    _calls(hour + dt.timedelta(minutes=1), 60)
    first = usage.monitor(now=NOW)
    assert first["alerts"] == ["spike:2026-11-30T09"]
    assert usage.monitor(now=NOW)["alerts"] == []
    assert UsageAlert.objects.count() == 1
    assert OutboxMessage.objects.filter(recipient=f"user:{lead.pk}").count() == 1


def test_usual_usage_does_not_alert(db, lead):
    hour = NOW.replace(minute=0) - dt.timedelta(hours=1)
    for week in range(1, 5):
        _calls(hour - dt.timedelta(weeks=week), 10)
        usage.roll_up(
            since=hour - dt.timedelta(weeks=week), until=hour - dt.timedelta(weeks=week, hours=-1)
        )
    _calls(hour + dt.timedelta(minutes=1), 13)
    assert usage.monitor(now=NOW)["alerts"] == []


def test_the_budget_alert_is_sent_once_a_day(db, settings, lead):
    settings.AI_DAILY_TOKEN_BUDGET = 1000
    DailyTokenUsage.objects.create(day=timezone.now().date(), tokens=1000)
    now = timezone.now()
    assert usage.check_anomalies(now=now) == [f"budget:{now:%Y-%m-%d}"]
    assert usage.check_anomalies(now=now) == []


def test_content_is_cleared_after_the_retention_and_counters_stay(db, settings):
    settings.AI_RETENTION_DAYS = 30
    _calls(NOW - dt.timedelta(days=31), 2)
    _calls(NOW - dt.timedelta(days=1), 1)
    assert usage.clear_old_content(now=NOW) == 2
    old = AIInteraction.objects.filter(content_cleared=True)
    assert old.count() == 2 and set(old.values_list("prompt", "response")) == {("", "")}
    assert set(old.values_list("input_tokens", flat=True)) == {100}
    assert AIInteraction.objects.get(content_cleared=False).prompt == "secret prompt"


def test_the_usage_page_is_for_leads(client, lead, agent, team_model):
    _calls(timezone.now() - dt.timedelta(hours=1), 2, feature="suggest_team")
    usage.roll_up(
        since=timezone.now() - dt.timedelta(hours=3), until=timezone.now() + dt.timedelta(hours=1)
    )
    client.force_login(lead)
    html = client.get("/desk/ai/").content.decode()
    assert "suggest_team" in html and "Macro-F1" in html and team_model.sha256[:12] in html
    assert "Keyword rule" in html and "Active" in html
    client.force_login(agent)
    assert client.get("/desk/ai/").status_code == 403


def test_sentiment_is_english_only():
    assert compound("Third time I am asking, this is unacceptable and I am furious") < -0.5
    assert compound("Thanks, that fixed it, wonderful support") > 0.5
    assert not is_english("Das ist völlig inakzeptabel, ich warte seit Tagen auf Antwort")
    assert compound("Das ist völlig inakzeptabel, ich warte seit Tagen auf Antwort") is None
    assert compound("bad") is None  # too short to tell the language


@pytest.mark.parametrize(
    ("predicted", "text", "expected"),
    [
        (
            "medium",
            "This is the third time I am asking, it is unacceptable and I am furious",
            "high",
        ),
        (
            "urgent",
            "This is the third time I am asking, it is unacceptable and I am furious",
            "urgent",
        ),
        ("medium", "Thanks so much, everything works great now, you are wonderful", "medium"),
        ("medium", "Das ist völlig inakzeptabel, ich bin wütend und warte seit Tagen", "medium"),
    ],
)
def test_sentiment_raises_a_priority_suggestion_and_never_lowers_it(predicted, text, expected):
    assert suggestions.raised_by_sentiment(predicted, text)[0] == expected
