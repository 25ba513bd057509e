"""The desk's incident metrics page: MTTA and MTTR by severity, hand-computed."""

from datetime import UTC, datetime, timedelta

import pytest

from incidents import services
from incidents.models import Incident, Severity, Status

from .factories import at, make_incident

pytestmark = pytest.mark.django_db
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _incident(agent, severity, *, acknowledged_after=None, resolved_after=None, title="x"):
    with at(START):
        incident = make_incident(by=agent, title=title, severity=severity)
    if acknowledged_after is not None:
        with at(START + acknowledged_after):
            services.acknowledge(incident=incident, by=agent)
    if resolved_after is not None:
        with at(START + resolved_after):
            services.change_status(incident=incident, by=agent, to=Status.RESOLVED)
    return Incident.objects.get(pk=incident.pk)


def test_the_page_states_each_severitys_means_over_the_range(client, agent):
    _incident(agent, Severity.HIGH, acknowledged_after=timedelta(minutes=10),
              resolved_after=timedelta(hours=2))  # fmt: skip
    _incident(agent, Severity.HIGH, acknowledged_after=timedelta(minutes=30),
              resolved_after=timedelta(hours=4))  # fmt: skip
    _incident(agent, Severity.LOW)  # neither acknowledged nor resolved
    client.force_login(agent)
    page = client.get(
        "/desk/incidents/metrics/?period=month&since=2026-11-01&until=2026-11-30"
    ).content.decode()
    # High: MTTA (10 + 30) / 2 = 20 min, MTTR (2 h + 4 h) / 2 = 3 h.
    high = '<th scope="row">High</th><td>2</td><td>2</td><td>20 min</td><td>2</td><td>3 h</td>'
    low = '<th scope="row">Low</th><td>1</td><td>0</td><td>—</td><td>0</td><td>—</td>'
    assert high in page and low in page
    assert "1 Nov 2026" in page and "2 · MTTA 20 min · MTTR 3 h" in page
    empty = client.get("/desk/incidents/metrics/?since=2025-01-01&until=2025-01-31")
    assert "No incidents were detected in this range." in empty.content.decode()


def test_a_backwards_range_says_so_and_customers_are_refused(client, agent, customer):
    client.force_login(agent)
    page = client.get("/desk/incidents/metrics/?since=2026-11-30&until=2026-11-01")
    assert "The range ends before it starts." in page.content.decode()
    client.force_login(customer)
    assert client.get("/desk/incidents/metrics/").status_code == 403
