"""The queue's breach-risk marker: risks stored by the job (cost following changed tickets),
read in one query a page, shown only for an active model's flagged tickets."""

import datetime as dt
import random
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from support import services
from support.assist import breach
from support.assist.breach import Rows
from support.assist.models import BreachRisk, ModelArtifact
from support.models import Ticket
from support.models.choices import Status
from tests.support.factories import make_ticket

OPEN = 30


def _rows(channel, tier, n=600, seed=5) -> Rows:
    """Urgent tickets behind a deep queue breach (a little noise), with the features the test's
    tickets have (no category, their channel and tier)."""
    rng = random.Random(seed)
    start = timezone.now() - dt.timedelta(days=n)
    rows = Rows()
    for i in range(n):
        priority = rng.choice(["urgent", "high", "medium", "low"])
        depth = rng.randint(0, 40)
        at = start + dt.timedelta(days=i, hours=rng.randint(0, 23))
        risky = priority == "urgent" and depth > 20
        label = int(risky if rng.random() > 0.03 else not risky)
        rows.features.append(
            breach.featurise(priority=priority, category_id=None, channel=channel, tier=tier,
                             created_at=at, queue_depth=depth)
        )  # fmt: skip
        rows.labels.append(label)
        rows.warned.append(bool(label) or rng.random() < 0.2)
        rows.created.append(at)
    return rows


@pytest.fixture
def queue(customer):
    """30 open tickets in one queue (no team): the first low, the last urgent behind 29."""
    tickets = [
        make_ticket(by=customer, subject=f"Queue {i}", priority="low" if i < OPEN - 1 else "urgent")
        for i in range(OPEN)
    ]
    return tickets


@pytest.fixture
def model(queue):
    first = queue[0]
    tier = first.organization.tier if first.organization_id else ""
    report = breach.train_and_evaluate(_rows(first.channel, tier or ""))
    assert report.activate, report.reason
    artifact = breach.save(report)
    assert breach.threshold_of(artifact) is not None
    return artifact


def _page(client):
    return client.get("/desk/?view=all").content.decode()


def _marked(page) -> set[str]:
    rows = re.findall(r"<tr>.*?</tr>", page, re.S)
    return {re.search(r"TKT-[\w-]+", r).group(0) for r in rows if "ai-breach" in r}


def test_no_active_model_no_marker_and_nothing_scored(client, lead, queue):
    assert breach.score_open_tickets()["reason"] == "no active breach model"
    client.force_login(lead)
    assert not _marked(_page(client)) and not BreachRisk.objects.exists()


def test_flagged_tickets_are_marked_from_the_stored_risk(client, lead, queue, model):
    assert breach.score_open_tickets()["scored"] == OPEN
    urgent, low = queue[-1], queue[0]
    stored = BreachRisk.objects.get(ticket=urgent)
    assert stored.at_risk and stored.risk >= breach.threshold_of(model)
    assert abs(stored.risk - breach.risk_of(urgent)) < 1e-9  # the panel's figure, stored
    assert not BreachRisk.objects.get(ticket=low).at_risk
    client.force_login(lead)
    page = _page(client)
    assert urgent.number in _marked(page) and low.number not in _marked(page)
    assert f"risk {round(stored.risk * 100)} % (AI model" in page


def test_the_marker_goes_with_the_model(client, lead, queue, model):
    breach.score_open_tickets()
    ModelArtifact.objects.filter(pk=model.pk).update(is_active=False)
    client.force_login(lead)
    assert not _marked(_page(client))


def test_the_job_scores_only_what_changed_and_drops_finished_tickets(queue, model, lead):
    assert breach.score_open_tickets()["scored"] == OPEN
    assert breach.score_open_tickets()["scored"] == 0
    services.change_priority(ticket=queue[3], priority="high", by=lead)
    assert breach.score_open_tickets()["scored"] == 1
    Ticket.objects.filter(pk=queue[4].pk).update(status=Status.RESOLVED, updated_at=timezone.now())
    result = breach.score_open_tickets()
    assert result["dropped"] == 1 and not BreachRisk.objects.filter(ticket=queue[4]).exists()
    assert breach.score_open_tickets(full=True)["scored"] == OPEN - 1


def test_the_queue_costs_the_same_queries_whatever_is_flagged(client, lead, queue, model):
    client.force_login(lead)
    _page(client)  # warm caches

    def cost():
        with CaptureQueriesContext(connection) as queries:
            page = _page(client)
        return len(queries), len(_marked(page))

    none_flagged = cost()
    breach.score_open_tickets()
    BreachRisk.objects.filter(ticket__in=queue[:10]).update(at_risk=True, risk=0.9)
    some_flagged = cost()
    assert none_flagged[1] == 0 and some_flagged[1] >= 10
    assert some_flagged[0] == none_flagged[0]
