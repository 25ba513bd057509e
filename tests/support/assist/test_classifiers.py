"""Classifiers: the held-out evaluation, the activation gate, artifacts, the label rule."""

import datetime as dt
import fractions
import io
import random

import pytest
from django.core.management import call_command
from django.utils import timezone

from support.assist import classifiers, metrics, tasks
from support.assist.classifiers import Dataset
from support.assist.models import ModelArtifact, Suggestion
from support.models.choices import Status
from tests.support.factories import CategoryFactory, make_ticket

CLASSES = ["account", "billing", "technical"]
VOCABULARY = {c: [f"{c[:3]}{i}" for i in range(20)] for c in CLASSES}
ALL_WORDS = [w for c in CLASSES for w in VOCABULARY[c]]


def synthetic(n=300, *, learnable=True, seed=1) -> Dataset:
    """Each class leans on its own twenty words (three times as likely as any other word), so
    the evidence is spread thin: a model that weighs every word beats a rule on a few keywords.
    Or, with `learnable=False`, labels drawn at random."""
    rng = random.Random(seed)
    start = timezone.now() - dt.timedelta(days=n)
    texts, labels, created = [], [], []
    for i in range(n):
        label = rng.choice(CLASSES)
        weights = [3 if w in VOCABULARY[label] else 1 for w in ALL_WORDS]
        texts.append(" ".join(rng.choices(ALL_WORDS, weights=weights, k=8)))
        labels.append(label if learnable else rng.choice(CLASSES))
        created.append(start + dt.timedelta(days=i))
    return Dataset(texts, labels, created)


@pytest.fixture
def gate(settings):
    settings.AI_MIN_TRAINING_TICKETS = 100
    settings.AI_ACTIVATION_MARGIN = 0.10
    settings.AI_MIN_COVERAGE_AT_P90 = 0.3
    return settings


def test_metrics_on_a_known_case():
    result = metrics.evaluate(["a", "a", "b", "b"], ["a", "b", "b", "b"], [0.9, 0.6, 0.8, 0.7])
    assert result["accuracy"] == 0.75
    assert result["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "support": 2}
    # By falling confidence: a(0.9) right, b(0.8) right, b(0.7) right, b(0.6 for an "a") wrong.
    assert result["coverage_at_p90"] == 0.75 and result["threshold_at_p90"] == 0.7
    assert metrics.expected_calibration_error([1.0, 1.0], [True, False]) == 0.5


def test_the_split_holds_out_the_newest_fifth_by_time():
    train, test = synthetic(100).split()
    assert len(train.texts) == 80 and len(test.texts) == 20
    assert max(train.created) < min(test.created)


def test_a_learnable_model_beats_its_baselines_and_is_activated(db, gate):
    report = classifiers.train_and_evaluate("category", data=synthetic())
    assert report.activate, report.reason
    assert report.model["macro_f1"] >= max(b["macro_f1"] for b in report.baselines.values()) + 0.10
    assert set(report.baselines) == {"majority class", "keyword rule"}
    artifact = classifiers.save(report)
    assert artifact.is_active and artifact.n_test == 60
    assert artifact.library_version.startswith("scikit-learn 1.")
    assert artifact.metrics["model"]["macro_f1"] == report.model["macro_f1"]
    assert artifact.trained_until < artifact.held_out_from
    assert "confirmed" in artifact.label_source


def test_a_model_below_its_baseline_is_never_activated(db, gate):
    report = classifiers.train_and_evaluate("category", data=synthetic(learnable=False))
    assert not report.activate and "below" in report.reason
    artifact = classifiers.save(report)  # stored for the record, never active
    assert artifact is not None and not artifact.is_active
    assert classifiers.active_artifact("category") is None


def test_a_margin_above_what_the_model_reaches_keeps_it_off(db, gate):
    gate.AI_ACTIVATION_MARGIN = 0.9
    report = classifiers.train_and_evaluate("category", data=synthetic())
    assert not report.activate
    assert not classifiers.save(report).is_active


def test_too_few_tickets_train_nothing(db, gate):
    report = classifiers.train_and_evaluate("category", data=synthetic(50))
    assert report.fitted is None and "at least 100" in report.reason
    assert classifiers.save(report) is None


def test_a_new_model_replaces_the_active_one_only_if_better(db, gate):
    first = classifiers.save(classifiers.train_and_evaluate("team", data=synthetic(seed=1)))
    assert first.is_active
    same = classifiers.train_and_evaluate("team", data=synthetic(seed=1))
    assert not same.activate and "does not beat the active model" in same.reason
    assert not classifiers.save(same).is_active
    first.refresh_from_db()
    assert first.is_active
    assert ModelArtifact.objects.filter(target="team", is_active=True).count() == 1


def test_artifacts_round_trip_through_skops_and_check_their_hash(db, gate):
    report = classifiers.train_and_evaluate("category", data=synthetic())
    artifact = classifiers.save(report)
    classifiers._cache.clear()
    model = classifiers.load(ModelArtifact.objects.get(pk=artifact.pk))
    assert classifiers.predict(model, ["bil1 bil2 bil3 bil4 bil5"])[0] == ["billing"]
    artifact.sha256 = "0" * 64
    classifiers._cache.clear()
    with pytest.raises(ValueError, match="sha256"):
        classifiers.load(artifact)


def test_an_artifact_with_foreign_types_is_refused():
    import skops.io as sio

    blob = sio.dumps({"payload": fractions.Fraction(1, 3)})
    with pytest.raises(ValueError, match="outside scikit-learn"):
        classifiers.loads(blob)


def test_training_labels_are_finished_tickets_and_model_labels_wait_for_a_person(
    db, customer, agent
):
    billing = CategoryFactory(slug="billing")
    done = [make_ticket(by=customer, category=billing, subject=f"Invoice {i}") for i in range(3)]
    for ticket in done:
        ticket.status = Status.CLOSED
        ticket.save(update_fields=["status"])
    make_ticket(by=customer, category=billing, subject="Still open")
    Suggestion.objects.create(
        ticket=done[0],
        field="category",
        value="billing",
        confidence=0.95,
        state=Suggestion.State.APPLIED,
    )
    Suggestion.objects.create(
        ticket=done[1],
        field="category",
        value="billing",
        confidence=0.95,
        state=Suggestion.State.CONFIRMED,
        decided_by=agent,
    )
    data = classifiers.labelled_tickets("category")
    assert sorted(t.split("\n")[0] for t in data.texts) == ["Invoice 1", "Invoice 2"]
    assert data.labels == ["billing", "billing"]
    # The applied label does not hold back the ticket's other fields.
    assert len(classifiers.labelled_tickets("priority").texts) == 3


def test_ai_eval_prints_the_table_beside_the_baselines(db, gate, monkeypatch):
    monkeypatch.setattr(classifiers, "labelled_tickets", lambda target, limit=None: synthetic())
    out = io.StringIO()
    call_command("ai_eval", "--target", "category", stdout=out)
    text = out.getvalue()
    for expected in (
        "majority class",
        "keyword rule",
        "candidate model",
        "macro-F1",
        "ECE",
        "cov@P0.9",
        "precision",
        "recall",
        "ACTIVATE",
    ):
        assert expected in text
    assert not ModelArtifact.objects.exists()  # ai_eval stores nothing


def test_ai_train_and_the_nightly_job_promote_only_a_better_model(db, gate, monkeypatch):
    monkeypatch.setattr(classifiers, "labelled_tickets", lambda target, limit=None: synthetic())
    call_command("ai_train", "--target", "category", stdout=io.StringIO())
    assert classifiers.active_artifact("category") is not None
    outcome = tasks.retrain_models()
    assert "does not beat the active model" in outcome["category"]
    assert ModelArtifact.objects.filter(target="category", is_active=True).count() == 1
