"""Predicted SLA breach, from a ticket's situation when it is filed.

Features (all known at creation): priority, category, channel, the organisation's tier, the
hour of the week, and the team's queue depth then (its tickets filed earlier and not yet
resolved, replayed from the finished tickets' own timestamps). Label: the ticket breached its
first-response or resolution target. A `HistGradientBoostingClassifier` is scored on the newest
20 % held out by time (AUC, Brier score beside the base rate's) and against the existing rule,
the warning at 80 % of a target: at the rule's precision, the share of breaches the model flags
at creation, before any clock has run (the rule catches them too, but only at 80 %). It is
activated only with AUC ≥ 0.75, a Brier score below the base rate's, and at least a quarter of
the breaches flagged at creation at the rule's precision.
"""

import bisect
import hashlib
from dataclasses import dataclass, field

import numpy as np
import sklearn
import skops
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score

from support.models import Ticket
from support.models.choices import ACTIVE_STATUSES, Channel, Priority, Status

from . import classifiers
from .models import BreachRisk, ModelArtifact, SyncState

MIN_AUC = 0.75
# Share of breaches it must flag at creation, at the precision of the 80 % warning rule (which
# flags them later, at 80 % of the target).
MIN_EARLY_RECALL = 0.25
PRIORITIES = list(Priority.values)
CHANNELS = list(Channel.values)
TIERS = ["enterprise", "professional", "standard", "free", ""]


@dataclass
class Rows:
    features: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    warned: list = field(default_factory=list)  # the 80 % rule fired on this ticket
    created: list = field(default_factory=list)


def featurise(*, priority, category_id, channel, tier, created_at, queue_depth) -> list[float]:
    hour_of_week = created_at.weekday() * 24 + created_at.hour
    return [
        PRIORITIES.index(priority) if priority in PRIORITIES else -1,
        category_id or -1,
        CHANNELS.index(channel) if channel in CHANNELS else -1,
        TIERS.index(tier) if tier in TIERS else -1,
        hour_of_week,
        queue_depth,
    ]


CATEGORICAL = [True, True, True, True, False, False]


def finished_tickets() -> Rows:
    rows = list(
        Ticket.objects.filter(status__in=[Status.RESOLVED, Status.CLOSED], merged_into=None)
        .exclude(sla_policy=None)
        .order_by("created_at", "pk")
        .values_list(
            "priority", "category_id", "channel", "organization__tier", "created_at",
            "resolved_at", "team_id", "response_breached", "resolution_breached",
            "response_warned", "resolution_warned",
        )
    )  # fmt: skip
    # Queue depth at filing: the team's tickets filed before and resolved after that moment.
    by_team: dict = {}
    for r in rows:
        by_team.setdefault(r[6], []).append(r)
    resolved_sorted = {t: sorted(x[5] for x in rs if x[5]) for t, rs in by_team.items()}
    created_sorted = {t: [x[4] for x in rs] for t, rs in by_team.items()}
    out = Rows()
    for r in rows:
        team = r[6]
        filed_before = bisect.bisect_left(created_sorted[team], r[4])
        resolved_before = bisect.bisect_right(resolved_sorted[team], r[4])
        depth = max(0, filed_before - resolved_before)
        out.features.append(
            featurise(
                priority=r[0],
                category_id=r[1],
                channel=r[2],
                tier=r[3] or "",
                created_at=r[4],
                queue_depth=depth,
            )
        )
        out.labels.append(int(r[7] or r[8]))
        out.warned.append(bool(r[9] or r[10] or r[7] or r[8]))
        out.created.append(r[4])
    return out


def _recall_at_precision(labels, scores, precision_needed, *, with_threshold=False):
    """The share of positives flagged at the lowest score that keeps `precision_needed`
    (and that score: the model's threshold)."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    labels = np.asarray(labels)[order]
    hits = np.cumsum(labels)
    precision = hits / np.arange(1, len(labels) + 1)
    ok = np.nonzero(precision >= precision_needed)[0]
    total = labels.sum()
    recall = float(hits[ok[-1]] / total) if len(ok) and total else 0.0
    if not with_threshold:
        return recall
    threshold = float(np.asarray(scores)[order][ok[-1]]) if len(ok) else 1.0
    return recall, threshold


@dataclass
class BreachReport:
    n_train: int
    n_test: int
    metrics: dict
    activate: bool
    reason: str
    fitted: object = None
    created: list = field(default_factory=list)


def train_and_evaluate(rows: Rows | None = None, *, min_tickets: int = 150) -> BreachReport:
    rows = rows or finished_tickets()
    n = len(rows.labels)
    cut = int(round(n * 0.8))
    report = BreachReport(cut, n - cut, {}, False, "", created=rows.created)
    if n < min_tickets or len(set(rows.labels[:cut])) < 2 or len(set(rows.labels[cut:])) < 2:
        report.reason = f"{n} finished tickets, with breaches and without in both parts, needed."
        return report
    x, y = np.asarray(rows.features, dtype=float), np.asarray(rows.labels)
    model = HistGradientBoostingClassifier(
        categorical_features=CATEGORICAL, max_iter=200, learning_rate=0.1, random_state=0
    ).fit(x[:cut], y[:cut])
    scores = model.predict_proba(x[cut:])[:, 1]
    truth = y[cut:]
    base_rate = float(y[:cut].mean())
    warned = np.asarray(rows.warned[cut:])
    rule_precision = float(truth[warned].mean()) if warned.any() else 0.0
    rule_recall = float(warned[truth == 1].mean()) if (truth == 1).any() else 0.0
    metrics = {
        "auc": float(roc_auc_score(truth, scores)),
        "brier": float(brier_score_loss(truth, scores)),
        "brier_base_rate": float(brier_score_loss(truth, np.full(len(truth), base_rate))),
        "base_rate": base_rate,
        "rule_precision": rule_precision,
        "rule_recall": rule_recall,
    }
    metrics["recall_at_rule_precision"], metrics["threshold"] = _recall_at_precision(
        truth, scores, rule_precision, with_threshold=True
    )
    report.metrics, report.fitted = metrics, model
    if metrics["auc"] < MIN_AUC:
        report.reason = f"AUC {metrics['auc']:.3f} is below {MIN_AUC}."
    elif metrics["brier"] >= metrics["brier_base_rate"]:
        report.reason = "Brier score no better than the base rate's."
    elif metrics["recall_at_rule_precision"] < MIN_EARLY_RECALL:
        report.reason = (
            f"At the 80 % rule's precision ({rule_precision:.2f}) it flags only "
            f"{metrics['recall_at_rule_precision']:.0%} of breaches at creation; "
            f"{MIN_EARLY_RECALL:.0%} is needed."
        )
    else:
        report.activate = True
        report.reason = (
            f"AUC {metrics['auc']:.3f}; at creation it flags "
            f"{metrics['recall_at_rule_precision']:.0%} of breaches at the 80 % rule's precision."
        )
    return report


@transaction.atomic
def save(report: BreachReport) -> ModelArtifact | None:
    if report.fitted is None:
        return None
    blob = classifiers.dumps(report.fitted)
    if report.activate:
        ModelArtifact.objects.filter(target="breach", is_active=True).update(is_active=False)
    return ModelArtifact.objects.create(
        target="breach", trained_from=report.created[0],
        trained_until=report.created[report.n_train - 1],
        held_out_from=report.created[report.n_train], n_train=report.n_train,
        n_test=report.n_test,
        label_source="first-response or resolution breach of finished tickets",
        library_version=f"scikit-learn {sklearn.__version__}, skops {skops.__version__}",
        metrics={"model": report.metrics}, sha256=hashlib.sha256(blob).hexdigest(), blob=blob,
        is_active=report.activate, activation_note=report.reason,
    )  # fmt: skip


def risk_of(ticket: Ticket) -> float | None:
    """The active model's breach probability for an open ticket, as filed; None without one."""
    artifact = classifiers.active_artifact("breach")
    if artifact is None:
        return None
    depth = (
        Ticket.objects.filter(team_id=ticket.team_id, created_at__lt=ticket.created_at)
        .exclude(status__in=[Status.RESOLVED, Status.CLOSED, Status.CANCELLED])
        .count()
    )
    tier = ticket.organization.tier if ticket.organization_id else ""
    features = featurise(priority=ticket.priority, category_id=ticket.category_id,
                         channel=ticket.channel, tier=tier or "", created_at=ticket.created_at,
                         queue_depth=depth)  # fmt: skip
    model = classifiers.load(artifact)
    return float(model.predict_proba(np.asarray([features], dtype=float))[0, 1])


def format_report(report: BreachReport) -> str:
    lines = [f"\n== breach: {report.n_train} training tickets, {report.n_test} held out "
             "(newest 20 % by creation time)"]  # fmt: skip
    m = report.metrics
    if m:
        lines.append(
            f"AUC {m['auc']:.3f}   Brier {m['brier']:.3f} (base rate {m['brier_base_rate']:.3f})"
        )
        lines.append(
            f"80 % warning rule: precision {m['rule_precision']:.3f}, recall "
            f"{m['rule_recall']:.3f}; model at creation, same precision: recall "
            f"{m['recall_at_rule_precision']:.3f}"
        )
    lines.append(f"{'ACTIVATE' if report.activate else 'not activated'}: {report.reason}")
    return "\n".join(lines) + "\n"


def retrain(*, activate: bool = True) -> tuple[BreachReport, ModelArtifact | None]:
    """Train, and store; activated only through the gate and if its AUC beats the active
    model's on the same held-out tickets (the active one is scored on them too)."""
    report = train_and_evaluate()
    current = classifiers.active_artifact("breach")
    if report.activate and current is not None:
        rows = finished_tickets()
        cut = report.n_train
        truth = rows.labels[cut:]
        scores = classifiers.load(current).predict_proba(
            np.asarray(rows.features[cut:], dtype=float)
        )[:, 1]
        active_auc = float(roc_auc_score(truth, scores))
        report.metrics["active_auc"] = active_auc
        if report.metrics["auc"] <= active_auc:
            report.activate = False
            report.reason = f"AUC does not beat the active model's {active_auc:.3f}."
    if not activate:
        report.activate = False
    return report, save(report)


# --- the queue's marker: risks stored by a job, read in one query a page ---------------------

SCORE_BATCH = 2000
NOT_QUEUED = [Status.RESOLVED, Status.CLOSED, Status.CANCELLED]


def threshold_of(artifact: ModelArtifact) -> float | None:
    """The score at which the model keeps the 80 % rule's precision on its held-out tickets."""
    return ((artifact.metrics or {}).get("model") or {}).get("threshold")


def _depths(rows) -> list[int]:
    """Each row's team queue depth as `risk_of` counts it: the team's tickets filed earlier and
    not resolved, closed or cancelled (one query for all the rows' teams)."""
    teams = {r[6] for r in rows}
    named = [t for t in teams if t is not None]
    where = Q(team_id__in=named) | (Q(team__isnull=True) if None in teams else Q(pk__in=[]))
    open_at: dict = {}
    for team, created in (
        Ticket.objects.filter(where)
        .exclude(status__in=NOT_QUEUED)
        .values_list("team_id", "created_at")
    ):
        open_at.setdefault(team, []).append(created)
    for times in open_at.values():
        times.sort()
    return [bisect.bisect_left(open_at.get(r[6], []), r[5]) for r in rows]


def score_open_tickets(*, full: bool = False) -> dict:
    """Store the active breach model's risk for the open tickets changed since the last run
    (all of them with `full`, or when the active model changed: its watermark is its own), and
    drop the risks of tickets that left the queue. Cost follows the changed tickets."""
    artifact = classifiers.active_artifact("breach")
    if artifact is None:
        return {"scored": 0, "reason": "no active breach model"}
    threshold = threshold_of(artifact)
    if threshold is None:
        return {"scored": 0, "reason": "the active model has no stored threshold: retrain"}
    started = timezone.now()
    state, _ = SyncState.objects.get_or_create(name=f"breach-risks-{artifact.pk}")
    changed = Ticket.objects.all()
    if state.articles_until and not full:
        changed = changed.filter(updated_at__gte=state.articles_until)
    dropped, _ = BreachRisk.objects.filter(
        ticket__in=changed.exclude(status__in=ACTIVE_STATUSES).values("pk")
    ).delete()
    rows = list(
        changed.filter(status__in=ACTIVE_STATUSES, merged_into=None)
        .order_by("pk")
        .values_list(
            "pk", "priority", "category_id", "channel", "organization__tier", "created_at",
            "team_id",
        )
    )  # fmt: skip
    model = classifiers.load(artifact) if rows else None
    scored = 0
    for offset in range(0, len(rows), SCORE_BATCH):
        batch = rows[offset : offset + SCORE_BATCH]
        features = [
            featurise(priority=r[1], category_id=r[2], channel=r[3], tier=r[4] or "",
                      created_at=r[5], queue_depth=d)
            for r, d in zip(batch, _depths(batch), strict=True)
        ]  # fmt: skip
        risks = model.predict_proba(np.asarray(features, dtype=float))[:, 1]
        BreachRisk.objects.bulk_create(
            [
                BreachRisk(
                    ticket_id=r[0],
                    artifact=artifact,
                    risk=float(p),
                    at_risk=bool(p >= threshold),
                    computed_at=started,
                )
                for r, p in zip(batch, risks, strict=True)
            ],  # fmt: skip
            update_conflicts=True,
            unique_fields=["ticket"],
            update_fields=["artifact", "risk", "at_risk", "computed_at"],
        )
        scored += len(batch)
    state.articles_until = started
    state.save(update_fields=["articles_until", "updated_at"])
    return {"scored": scored, "dropped": dropped, "artifact": artifact.pk}


def attach_risks(tickets, **_context) -> None:
    """`ticket.breach_risk` for a queue page: the stored risk where the active model flags it
    (at or above its threshold), else None. One query whatever the page holds."""
    tickets = list(tickets)
    if not tickets:
        return
    flagged = dict(
        BreachRisk.objects.filter(
            ticket_id__in=[t.pk for t in tickets], at_risk=True, artifact__is_active=True
        ).values_list("ticket_id", "risk")
    )
    for ticket in tickets:
        risk = flagged.get(ticket.pk)
        ticket.breach_risk = risk if ticket.status in ACTIVE_STATUSES else None
