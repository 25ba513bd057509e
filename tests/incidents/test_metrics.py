"""MTTA and MTTR by severity and period, against figures computed by hand."""

from datetime import UTC, datetime

import pytest

from incidents import services
from incidents.metrics import incident_metrics
from incidents.models import Severity, Status

from .factories import at, make_incident

pytestmark = pytest.mark.django_db
INCIDENTS = "/api/v1/incidents/"


def t(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def incident(by, severity, detected, acknowledged=None, resolved=None):
    with at(t(detected)):
        made = make_incident(by=by, severity=severity)
    if acknowledged:
        with at(t(acknowledged)):
            services.acknowledge(incident=made, by=by)
    if resolved:
        with at(t(resolved)):
            services.change_status(incident=made, by=by, to=Status.RESOLVED)
    return made


@pytest.fixture
def history(agent):
    # Critical in March: acknowledged after 10 and 20 min (MTTA 15 min), resolved after 1 h and
    # 3 h (MTTR 2 h).
    incident(agent, Severity.CRITICAL, "2026-03-02T09:00", "2026-03-02T09:10", "2026-03-02T10:00")
    incident(agent, Severity.CRITICAL, "2026-03-20T12:00", "2026-03-20T12:20", "2026-03-20T15:00")
    # Low in March: acknowledged after 2 h, never resolved: MTTA 2 h, MTTR none.
    incident(agent, Severity.LOW, "2026-03-31T23:00", "2026-04-01T01:00")
    # Critical in April: neither acknowledged nor resolved.
    incident(agent, Severity.CRITICAL, "2026-04-01T00:30")
    # High in April, resolved after 30 min and never acknowledged: MTTA none, MTTR 30 min.
    incident(agent, Severity.HIGH, "2026-04-10T08:00", None, "2026-04-10T08:30")


def test_by_month_and_severity(history):
    rows = incident_metrics(period="month", since=t("2026-01-01T00:00"),
                            until=t("2026-06-01T00:00"))  # fmt: skip
    table = {(r["period_start"].date().isoformat(), r["severity"]): r for r in rows}
    assert set(table) == {
        ("2026-03-01", "critical"),
        ("2026-03-01", "low"),
        ("2026-04-01", "critical"),
        ("2026-04-01", "high"),
    }
    march = table[("2026-03-01", "critical")]
    assert (march["incidents"], march["acknowledged"], march["resolved"]) == (2, 2, 2)
    assert march["mtta_seconds"] == 15 * 60
    assert march["mttr_seconds"] == 2 * 3600
    low = table[("2026-03-01", "low")]
    assert (low["mtta_seconds"], low["mttr_seconds"]) == (2 * 3600, None)
    april = table[("2026-04-01", "critical")]
    assert (april["incidents"], april["mtta_seconds"], april["mttr_seconds"]) == (1, None, None)
    assert table[("2026-04-01", "high")]["mttr_seconds"] == 30 * 60


def test_by_day_within_a_range(history):
    rows = incident_metrics(period="day", since=t("2026-03-20T00:00"), until=t("2026-03-21T00:00"))
    assert [(r["severity"], r["mtta_seconds"], r["mttr_seconds"]) for r in rows] == [
        ("critical", 20 * 60, 3 * 3600)
    ]


def test_over_the_api(api_client, agent, history):
    api_client.force_authenticate(agent)
    body = api_client.get(
        f"{INCIDENTS}metrics/",
        {"period": "week", "since": "2026-03-01T00:00:00Z", "until": "2026-05-01T00:00:00Z"},
    ).json()
    assert body["period"] == "week"
    assert sum(r["incidents"] for r in body["rows"]) == 5
    refused = api_client.get(
        f"{INCIDENTS}metrics/", {"period": "day", "since": "2020-01-01T00:00:00Z"}
    )
    assert refused.status_code == 400


def test_metrics_are_for_staff(api_client, customer):
    api_client.force_authenticate(customer)
    assert api_client.get(f"{INCIDENTS}metrics/").status_code == 403


def test_acknowledged_late_counts_from_detection(agent):
    made = incident(agent, Severity.MEDIUM, "2026-05-01T10:00", None, "2026-05-01T10:30")
    with at(t("2026-05-01T10:45")):
        # Resolved incidents can still be acknowledged: the time to acknowledge is then 45 min.
        services.acknowledge(incident=made, by=agent)
    [row] = incident_metrics(
        period="month", since=t("2026-05-01T00:00"), until=t("2026-06-01T00:00")
    )
    assert (row["mtta_seconds"], row["mttr_seconds"]) == (45 * 60, 30 * 60)
