"""The public status page: what it shows, what it never shows, its uptime bars and its cache."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents import services, statuspage
from incidents.models import ComponentState, Incident, Status
from incidents.statuspage import Window, uptime_days

from .factories import at, make_component, make_incident

pytestmark = pytest.mark.django_db

PAGE, JSON, FEED, HISTORY = (
    "/status/",
    "/status/summary.json",
    "/status/feed.atom",
    "/status/history/",
)
SECRET = "db-2 pool exhausted, password in vault"


def t(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- uptime against a history computed by hand --------------------------------------------------


def test_uptime_bars_match_a_hand_computed_history():
    now = t("2026-03-10T12:00")
    windows = [
        # 8th 23:00 – 9th 01:00, partial: an hour on each day, counted at 30%: 1,080 s each.
        Window(t("2026-03-08T23:00"), t("2026-03-09T01:00"), "partial_outage"),
        # 9th 06:00 – 08:00, major: 7,200 s.
        Window(t("2026-03-09T06:00"), t("2026-03-09T08:00"), "major_outage"),
        # 10th: partial 09:30 – 11:30 over a major 10:00 – 11:00. The worse counts where they
        # overlap: 1,800 × 0.3 + 3,600 + 1,800 × 0.3 = 4,680 s of 43,200 observed (until noon).
        Window(t("2026-03-10T09:30"), t("2026-03-10T11:30"), "partial_outage"),
        Window(t("2026-03-10T10:00"), t("2026-03-10T11:00"), "major_outage"),
        # Degraded and maintenance time is not downtime.
        Window(t("2026-03-08T02:00"), t("2026-03-08T04:00"), "degraded_performance"),
        Window(t("2026-03-10T00:00"), t("2026-03-10T01:00"), "under_maintenance"),
    ]
    days, overall = uptime_days(windows, now=now, since=t("2026-01-01T00:00"), days=3)
    assert [d.date.isoformat() for d in days] == ["2026-03-08", "2026-03-09", "2026-03-10"]
    assert [d.down_seconds for d in days] == pytest.approx([1080, 8280, 4680])
    assert [d.observed_seconds for d in days] == [86400, 86400, 43200]
    assert [d.uptime for d in days] == pytest.approx([1 - 1080 / 86400, 1 - 8280 / 86400,
                                                       1 - 4680 / 43200])  # fmt: skip
    assert [d.state for d in days] == ["partial_outage", "major_outage", "major_outage"]
    assert overall == pytest.approx(1 - 14040 / 216000)  # 93.5%


def test_days_before_the_component_existed_have_no_uptime():
    now = t("2026-03-10T12:00")
    windows = [Window(t("2026-03-09T18:00"), t("2026-03-09T20:00"), "major_outage")]
    days, overall = uptime_days(windows, now=now, since=t("2026-03-09T12:00"), days=3)
    assert days[0].uptime is None
    assert days[1].observed_seconds == 43200
    assert days[1].uptime == pytest.approx(1 - 7200 / 43200)
    assert overall == pytest.approx(1 - 7200 / 86400)


def test_the_page_draws_the_bars_from_incident_windows(client, agent):
    api = make_component("API")
    with at("2026-03-09T06:00:00+00:00"):
        incident = make_incident(by=agent, components={api: "major_outage"})
    with at("2026-03-09T08:00:00+00:00"):
        services.change_status(incident=incident, by=agent, to=Status.RESOLVED)
    type(api).objects.filter(pk=api.pk).update(created_at=t("2026-01-01T00:00"))
    with at("2026-03-10T12:00:00+00:00"):
        data, _ = statuspage.summary()
    days = data["components"][0].days
    assert len(days) == 90
    assert days[-2].uptime == pytest.approx(1 - 7200 / 86400)
    assert days[-2].state == "major_outage"
    assert days[-1].uptime == 1


# --- what the page, the feed and the JSON show --------------------------------------------------


@pytest.fixture
def outage(agent, django_capture_on_commit_callbacks):
    api = make_component("API", group="Platform")
    make_component("Help center", group="Customer-facing")
    incident = make_incident(by=agent, title="Exports fail", components={api: "major_outage"})
    services.post_update(incident=incident, by=agent, body="We are rolling back.", public=True)
    services.post_update(incident=incident, by=agent, body=SECRET)  # internal
    services.change_status(incident=incident, by=agent, to=Status.IDENTIFIED, message=SECRET,
                           public=False)  # fmt: skip
    return incident


def test_the_page_shows_components_by_group_and_the_active_incident(client, outage):
    html = client.get(PAGE).content.decode()
    assert "Major outage" in html and "Exports fail" in html and "We are rolling back." in html
    groups = html[html.index("status-group") :]
    assert groups.index("Customer-facing") < groups.index("Help center") < groups.index("Platform")
    assert groups.index("Platform") < groups.index("API")


def test_internal_updates_never_reach_the_page_feed_json_or_incident_page(client, outage):
    for url in (PAGE, JSON, FEED, HISTORY, f"/status/incidents/{outage.number}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert SECRET not in response.content.decode(), url
    body = client.get(JSON).json()
    [incident] = body["incidents"]
    assert [u["body"] for u in incident["updates"]] == ["We are rolling back."]


def test_an_internal_incident_is_not_shown_at_all(client, agent):
    hidden = make_incident(by=agent, title="Vault rotation", is_public=False)
    for url in (PAGE, JSON, FEED):
        assert "Vault rotation" not in client.get(url).content.decode()
    assert client.get(f"/status/incidents/{hidden.number}/").status_code == 404


def test_the_json_summary(client, outage):
    body = client.get(JSON).json()
    assert body["status"] == {"indicator": "major_outage", "description": "Major outage"}
    assert [(c["name"], c["state"]) for c in body["components"]] == [
        ("Help center", "operational"),
        ("API", "major_outage"),
    ]
    assert body["incidents"][0]["number"] == outage.number
    assert body["incidents"][0]["components"] == ["API"]


def test_the_feed_is_atom_with_public_updates(client, outage):
    response = client.get(FEED)
    assert response["Content-Type"].startswith("application/atom+xml")
    text = response.content.decode()
    assert "<feed" in text and "We are rolling back." in text


def test_resolved_incidents_leave_the_page_for_the_history(client, agent, outage):
    services.change_status(incident=outage, by=agent, to=Status.RESOLVED, message="Fixed.")
    statuspage.invalidate()
    assert "Exports fail" not in client.get(PAGE).content.decode()
    history = client.get(HISTORY).content.decode()
    assert "Exports fail" in history and "Fixed." in history
    assert client.get(JSON).json()["status"]["indicator"] == "operational"


def test_maintenance_shows_its_components_under_maintenance(client, lead):
    db = make_component("Database")
    services.schedule_maintenance(by=lead, title="Upgrade", components=[db],
                                  starts_at=timezone.now() - timedelta(minutes=5),
                                  ends_at=timezone.now() + timedelta(hours=1))  # fmt: skip
    body = client.get(JSON).json()
    assert body["components"][0]["state"] == "under_maintenance"
    assert body["maintenance"][0]["title"] == "Upgrade"


# --- the cache -----------------------------------------------------------------------------------


def test_a_warm_page_reads_no_table(client, outage):
    for url in (PAGE, JSON, FEED, HISTORY):
        client.get(url)
    with CaptureQueriesContext(connection) as captured:
        for url in (PAGE, JSON, FEED, HISTORY):
            assert client.get(url).status_code == 200
    assert len(captured) == 0


def test_a_change_is_shown_once_it_commits(client, agent, django_capture_on_commit_callbacks):
    api = make_component("API")
    assert "Operational" in client.get(PAGE).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_incident(by=agent, title="Logins fail", components={api: "partial_outage"})
    html = client.get(PAGE).content.decode()
    assert "Logins fail" in html and "Partial outage" in html


def _history(agent, components, count, start):
    """`count` resolved public incidents, each touching every component."""
    for n in range(count):
        with at((start + timedelta(hours=n)).isoformat()):
            states = dict.fromkeys(components, "partial_outage")
            incident = make_incident(by=agent, title=f"Past {n}", components=states)
            services.post_update(incident=incident, by=agent, body="Looking", public=True)
        with at((start + timedelta(hours=n, minutes=30)).isoformat()):
            services.change_status(incident=incident, by=agent, to=Status.RESOLVED)


@pytest.mark.parametrize("url", [PAGE, JSON, HISTORY, FEED])
def test_a_rebuild_costs_the_same_queries_at_two_history_sizes(client, agent, url):
    components = [make_component(f"C{n}", group="G") for n in range(3)]
    start = timezone.now() - timedelta(days=30)
    _history(agent, components, 2, start)
    make_incident(by=agent, title="Now", components={components[0]: "major_outage"})

    def rebuild():
        statuspage.invalidate()
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = rebuild()
    _history(agent, components, 12, start + timedelta(days=2))
    assert Incident.objects.count() == 15
    assert rebuild() == few


def test_the_page_is_public_but_asked_for_again_each_time(client, outage):
    response = client.get(PAGE)
    assert response["Cache-Control"] == "public, no-cache"


def test_component_states_on_the_page_follow_the_incident(client, agent):
    api = make_component("API")
    incident = make_incident(by=agent, components={api: ComponentState.DEGRADED_PERFORMANCE})
    statuspage.invalidate()
    assert client.get(JSON).json()["components"][0]["state"] == "degraded_performance"
    services.change_status(incident=incident, by=agent, to=Status.RESOLVED)
    statuspage.invalidate()
    assert client.get(JSON).json()["components"][0]["state"] == "operational"
    assert json.loads(client.get(JSON).content)["incidents"] == []


def test_a_browser_that_takes_gzip_gets_the_page_compressed_once(client, outage):
    import gzip

    plain = client.get(PAGE)
    packed = client.get(PAGE, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert "Accept-Encoding" in plain["Vary"] and "Accept-Encoding" in packed["Vary"]
    assert not plain.has_header("Content-Encoding") and packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    assert len(packed.content) < len(plain.content) / 3
    summary = client.get(JSON, HTTP_ACCEPT_ENCODING="gzip")
    assert json.loads(gzip.decompress(summary.content))["status"]["indicator"]
    with CaptureQueriesContext(connection) as captured:  # both copies come from the cache
        client.get(PAGE, HTTP_ACCEPT_ENCODING="gzip")
        client.get(PAGE)
    assert len(captured) == 0
