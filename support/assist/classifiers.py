"""Category, team and priority classifiers trained on the organisation's own tickets.

Training data: resolved and closed tickets (not merged away), their final field values, which
people set; a value a model applied on its own (`Suggestion.State.APPLIED`) is left out until a
person confirms it, so the model never learns from itself. The newest 20 % by creation time is
held out; the model and both baselines are scored on it, and the model is activated only if its
macro-F1 beats the better baseline by `AI_ACTIVATION_MARGIN` (and, when a model is already
active, only if it also beats that one on the same slice).
"""

import hashlib
import io
import threading
from collections import Counter
from dataclasses import dataclass

import numpy as np
import sklearn
import skops
import skops.io as sio
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.frozen import FrozenEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from support.models import Ticket
from support.models.choices import Status

from . import metrics
from .models import ModelArtifact, Suggestion

TARGETS = ["category", "team", "priority"]
TEST_SHARE = 0.2
# A class seen fewer times in training is left out of it: the nested calibration folds need it.
MIN_PER_CLASS = 6
LABEL_SOURCE = (
    "final {target} of resolved and closed tickets, as people left it "
    "(values applied by a model count only once a person confirmed them)"
)
# What a stored artifact may contain when it is loaded back (skops refuses anything else).
TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")
# Exact names trusted too: the breach model's preprocessor wraps `sklearn…check_array` in a
# `functools.partial` (the function inside is listed, and checked, on its own).
TRUSTED_NAMES = frozenset({"functools.partial"})


def ticket_text(subject: str, description: str) -> str:
    return f"{subject}\n{description}"


@dataclass
class Dataset:
    texts: list[str]
    labels: list[str]
    created: list

    def split(self):
        cut = int(round(len(self.texts) * (1 - TEST_SHARE)))
        return (
            Dataset(self.texts[:cut], self.labels[:cut], self.created[:cut]),
            Dataset(self.texts[cut:], self.labels[cut:], self.created[cut:]),
        )


def _label_field(target: str) -> str:
    return {"category": "category__slug", "team": "team__slug", "priority": "priority"}[target]


def labelled_tickets(target: str, *, limit: int | None = None) -> Dataset:
    field = _label_field(target)
    unconfirmed = Suggestion.objects.filter(
        ticket=OuterRef("pk"), field=target, state=Suggestion.State.APPLIED
    )
    rows = (
        Ticket.objects.filter(status__in=[Status.RESOLVED, Status.CLOSED], merged_into=None)
        .exclude(**{f"{field}__isnull": True})
        .exclude(Exists(unconfirmed))
        .order_by("created_at", "pk")
        .values_list("subject", "description_text", field, "created_at")
    )
    if limit:
        rows = rows[:limit]
    texts, labels, created = [], [], []
    for subject, description, label, at in rows.iterator(chunk_size=2000):
        texts.append(ticket_text(subject, description))
        labels.append(str(label))
        created.append(at)
    return Dataset(texts, labels, created)


def build_features() -> FeatureUnion:
    return FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_features=200_000
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(3, 5),
                    sublinear_tf=True,
                    min_df=2,
                    max_features=200_000,
                ),
            ),
        ]
    )


def build_pipeline() -> Pipeline:
    """The small-data fallback: sigmoid calibration by 3-fold cross-validation (3 fits)."""
    classifier = CalibratedClassifierCV(LinearSVC(C=0.5, dual=True), method="sigmoid", cv=3)
    return Pipeline([("features", build_features()), ("classifier", classifier)])


def _isotonic_map(proba, truth) -> dict:
    best = np.argmax(proba, axis=1)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
    iso.fit(proba[np.arange(len(best)), best], truth)
    return {"x": [float(v) for v in iso.X_thresholds_], "y": [float(v) for v in iso.y_thresholds_]}


def fit_model(texts, labels) -> tuple[Pipeline, dict | None]:
    """The model and its confidence map from ONE classifier fit: the features (TF-IDF, capped)
    are fitted once on all the training tickets; `LinearSVC` on the older 80 % of them; its
    sigmoid calibration and then the isotonic confidence map on the newest 20 %, which it has
    not seen (the same drift a deployed model meets). Falls back to 3-fold calibration with no
    map when the newest 20 % cannot calibrate (fewer than two known classes)."""
    cut = int(len(texts) * 0.8)
    older = Counter(labels[:cut])
    keep = [i for i in range(cut) if older[labels[i]] >= MIN_PER_CLASS]
    known = {labels[i] for i in keep}
    newest = [i for i in range(cut, len(texts)) if labels[i] in known]
    if len(known) < 2 or len({labels[i] for i in newest}) < 2:
        return build_pipeline().fit(texts, labels), None
    features = build_features()
    x = features.fit_transform(texts)
    y = np.asarray(labels)
    # The dual solver, explicitly: "auto" picks the primal one when tickets outnumber features,
    # 5-6x slower here for the same macro-F1 (20,000 generated tickets: 3.3 s against 18.7 s).
    svc = LinearSVC(C=0.5, dual=True).fit(x[keep], y[keep])
    calibrated = CalibratedClassifierCV(FrozenEstimator(svc), method="sigmoid")
    calibrated.fit(x[newest], y[newest])
    proba = calibrated.predict_proba(x[newest])
    correct = (calibrated.classes_[np.argmax(proba, axis=1)] == y[newest]).astype(float)
    model = Pipeline([("features", features), ("classifier", calibrated)])
    return model, _isotonic_map(proba, correct)


def predict(model, texts, confidence_map=None):
    """Labels and their confidence: the top class probability, mapped through the model's
    isotonic confidence map (what share of training tickets at that probability were right)."""
    proba = model.predict_proba(texts)
    best = np.argmax(proba, axis=1)
    classes = model.classes_
    raw = proba[np.arange(len(best)), best]
    if confidence_map:
        raw = np.interp(raw, confidence_map["x"], confidence_map["y"])
    return [str(classes[i]) for i in best], [float(c) for c in raw]


def fit_confidence_map(texts, labels) -> dict | None:
    """Isotonic map from the top probability to the chance of being right (one-vs-rest sigmoids
    across many classes are underconfident; this makes "0.9" mean nine in ten). Learnt on the
    newest 20 % of the training tickets by a model fitted on the older 80 %: one extra fit, and
    the map sees the same drift a deployed model meets."""
    cut = int(len(texts) * 0.8)
    older = Counter(labels[:cut])
    keep = [i for i in range(cut) if older[labels[i]] >= MIN_PER_CLASS]
    if len({labels[i] for i in keep}) < 2 or cut == len(texts):
        return None
    probe = build_pipeline().fit([texts[i] for i in keep], [labels[i] for i in keep])
    proba = probe.predict_proba(texts[cut:])
    correct = (probe.classes_[np.argmax(proba, axis=1)] == np.asarray(labels[cut:])).astype(float)
    return _isotonic_map(proba, correct)


@dataclass
class Report:
    target: str
    n_train: int
    n_test: int
    model: dict | None
    baselines: dict
    active: dict | None
    activate: bool
    reason: str
    fitted: object = None
    confidence_map: dict | None = None
    train: Dataset | None = None
    test: Dataset | None = None


def train_and_evaluate(target: str, *, data: Dataset | None = None, limit=None) -> Report:
    data = data or labelled_tickets(target, limit=limit)
    train, test = data.split()
    report = Report(
        target, len(train.texts), len(test.texts), None, {}, None, False, "", train=train, test=test
    )
    if len(data.texts) < settings.AI_MIN_TRAINING_TICKETS or not test.texts:
        report.reason = (
            f"{len(data.texts)} labelled tickets; at least {settings.AI_MIN_TRAINING_TICKETS} "
            "are needed."
        )
        return report
    counts = {label: train.labels.count(label) for label in set(train.labels)}
    keep = [i for i, label in enumerate(train.labels) if counts[label] >= MIN_PER_CLASS]
    fit_texts = [train.texts[i] for i in keep]
    fit_labels = [train.labels[i] for i in keep]
    for baseline in (metrics.MajorityBaseline(), metrics.KeywordBaseline()):
        baseline.fit(train.texts, train.labels)
        labels, confidence = baseline.predict(test.texts)
        report.baselines[baseline.name] = metrics.evaluate(test.labels, labels, confidence)
    if len(set(fit_labels)) < 2:
        report.reason = "Fewer than two classes with enough tickets."
        return report
    model, report.confidence_map = fit_model(fit_texts, fit_labels)
    labels, confidence = predict(model, test.texts, report.confidence_map)
    report.model = metrics.evaluate(test.labels, labels, confidence)
    report.fitted = model
    best_name, best = max(report.baselines.items(), key=lambda kv: kv[1]["macro_f1"])
    bar = best["macro_f1"] + settings.AI_ACTIVATION_MARGIN
    if report.model["macro_f1"] < bar:
        report.reason = (
            f"macro-F1 {report.model['macro_f1']:.3f} is below {best_name} "
            f"{best['macro_f1']:.3f} + margin {settings.AI_ACTIVATION_MARGIN:.2f}."
        )
        return report
    if report.model["coverage_at_p90"] < settings.AI_MIN_COVERAGE_AT_P90:
        report.reason = (
            f"covers {report.model['coverage_at_p90']:.0%} of held-out tickets at precision 0.9; "
            f"{settings.AI_MIN_COVERAGE_AT_P90:.0%} is needed."
        )
        return report
    active = active_artifact(target)
    if active is not None:
        current = load(active)
        labels, confidence = predict(current, test.texts, active.metrics.get("confidence_map"))
        report.active = metrics.evaluate(test.labels, labels, confidence)
        if report.model["macro_f1"] <= report.active["macro_f1"]:
            report.reason = (
                f"macro-F1 {report.model['macro_f1']:.3f} does not beat the active model's "
                f"{report.active['macro_f1']:.3f} on the same held-out tickets."
            )
            return report
    report.activate = True
    report.reason = f"beats {best_name} by at least {settings.AI_ACTIVATION_MARGIN:.2f}"
    return report


def dumps(model) -> bytes:
    return sio.dumps(model)


def loads(blob: bytes):
    untrusted = sio.get_untrusted_types(data=blob)
    foreign = [
        t for t in untrusted if not t.startswith(TRUSTED_PREFIXES) and t not in TRUSTED_NAMES
    ]
    if foreign:
        raise ValueError(f"The artifact holds types outside scikit-learn: {foreign}")
    return sio.loads(blob, trusted=untrusted)


@transaction.atomic
def save(report: Report, *, activate: bool | None = None) -> ModelArtifact | None:
    """Store the trained model as a versioned artifact; activate it only if the report allows.
    `activate=False` stores without activating; nothing can activate a model that failed its gate.
    """
    if report.fitted is None:
        return None
    blob = dumps(report.fitted)
    should_activate = report.activate and activate is not False
    if should_activate:
        ModelArtifact.objects.select_for_update().filter(
            target=report.target, is_active=True
        ).update(is_active=False)
    return ModelArtifact.objects.create(
        target=report.target,
        trained_from=report.train.created[0],
        trained_until=report.train.created[-1],
        held_out_from=report.test.created[0] if report.test.created else None,
        n_train=report.n_train,
        n_test=report.n_test,
        label_source=LABEL_SOURCE.format(target=report.target),
        library_version=f"scikit-learn {sklearn.__version__}, skops {skops.__version__}",
        metrics={
            "model": report.model,
            "baselines": report.baselines,
            "active": report.active,
            "confidence_map": report.confidence_map,
        },
        sha256=hashlib.sha256(blob).hexdigest(),
        blob=blob,
        is_active=should_activate,
        activation_note=report.reason,
    )


def active_artifact(target: str) -> ModelArtifact | None:
    return ModelArtifact.objects.filter(target=target, is_active=True).defer("blob").first()


_cache: dict[int, tuple[str, object]] = {}
_lock = threading.Lock()


def load(artifact: ModelArtifact):
    """The artifact's model, loaded once per process (checked against its sha256)."""
    with _lock:
        hit = _cache.get(artifact.pk)
        if hit and hit[0] == artifact.sha256:
            return hit[1]
    # The blob is read only when the process has not loaded this artifact yet.
    blob = bytes(ModelArtifact.objects.values_list("blob", flat=True).get(pk=artifact.pk))
    if hashlib.sha256(blob).hexdigest() != artifact.sha256:
        raise ValueError(f"Artifact {artifact.pk} does not match its sha256.")
    model = loads(blob)
    with _lock:
        _cache[artifact.pk] = (artifact.sha256, model)
    return model


def format_report(report: Report) -> str:
    out = io.StringIO()
    w = out.write
    w(
        f"\n== {report.target}: {report.n_train} training tickets, {report.n_test} held out "
        f"(newest {int(TEST_SHARE * 100)} % by creation time)\n"
    )
    rows = [(name, m) for name, m in report.baselines.items()]
    if report.active:
        rows.append(("active model", report.active))
    if report.model:
        rows.append(("candidate model", report.model))
    if rows:
        w(f"{'':18}{'accuracy':>10}{'macro-F1':>10}{'ECE':>8}{'cov@P0.9':>10}\n")
        for name, m in rows:
            w(
                f"{name:18}{m['accuracy']:>10.3f}{m['macro_f1']:>10.3f}{m['ece']:>8.3f}"
                f"{m['coverage_at_p90']:>10.3f}\n"
            )
    if report.model:
        w(f"\n{'class':24}{'precision':>10}{'recall':>10}{'support':>9}\n")
        for label, c in sorted(report.model["per_class"].items()):
            w(f"{label[:24]:24}{c['precision']:>10.3f}{c['recall']:>10.3f}{c['support']:>9}\n")
    w(f"\n{'ACTIVATE' if report.activate else 'not activated'}: {report.reason}\n")
    return out.getvalue()
