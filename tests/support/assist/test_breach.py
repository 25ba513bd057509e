"""The breach predictor: features known at filing, held out by time, gated on AUC, Brier and
how many breaches it flags at creation at the 80 % warning rule's precision."""

import datetime as dt
import io
import random

from django.core.management import call_command
from django.utils import timezone

from support.assist import breach, classifiers
from support.assist.breach import Rows
from support.models.choices import Status
from tests.support.factories import make_ticket


def synthetic(n=600, *, learnable=True, seed=3) -> Rows:
    """Deep queues on urgent tickets breach; a little noise. Or breaches at random."""
    rng = random.Random(seed)
    start = timezone.now() - dt.timedelta(days=n)
    rows = Rows()
    for i in range(n):
        priority = rng.choice(["urgent", "high", "medium", "low"])
        depth = rng.randint(0, 40)
        at = start + dt.timedelta(days=i, hours=rng.randint(0, 23))
        risky = (priority in ("urgent", "high") and depth > 25) or depth > 36
        label = int(risky if rng.random() > 0.05 else not risky)
        if not learnable:
            label = int(rng.random() < 0.2)
        rows.features.append(
            breach.featurise(
                priority=priority,
                category_id=1,
                channel="web",
                tier="standard",
                created_at=at,
                queue_depth=depth,
            )
        )
        rows.labels.append(label)
        rows.warned.append(bool(label) or rng.random() < 0.2)
        rows.created.append(at)
    return rows


def test_a_predictive_model_is_activated_and_compared_with_the_rule(db):
    report = breach.train_and_evaluate(synthetic())
    assert report.activate, report.reason
    m = report.metrics
    assert m["auc"] >= 0.75 and m["brier"] < m["brier_base_rate"]
    assert m["recall_at_rule_precision"] >= 0.25 and 0 < m["rule_precision"] <= 1
    artifact = breach.save(report)
    assert artifact.is_active and artifact.target == "breach"
    assert artifact.trained_until < artifact.held_out_from


def test_random_breaches_are_not_predicted_and_not_activated(db):
    report = breach.train_and_evaluate(synthetic(learnable=False))
    assert not report.activate
    assert not breach.save(report).is_active
    assert classifiers.active_artifact("breach") is None


def test_features_come_from_finished_tickets_with_their_queue_depth(db, customer):
    tickets = [make_ticket(by=customer, subject=f"T{i}") for i in range(3)]
    for ticket in tickets[:2]:
        ticket.status = Status.CLOSED
        ticket.resolved_at = timezone.now() + dt.timedelta(hours=1)
        ticket.save(update_fields=["status", "resolved_at"])
    rows = breach.finished_tickets()
    assert len(rows.labels) == 2
    assert [f[-1] for f in rows.features] == [0, 1]  # the second was filed behind the first


def test_ai_eval_prints_the_breach_report(db):
    out = io.StringIO()
    call_command("ai_eval", "--target", "breach", stdout=out)
    assert "== breach" in out.getvalue() and "not activated" in out.getvalue()
