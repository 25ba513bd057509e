"""The evaluation every model shows before it may act: on the newest 20 % of tickets held out by
time, beside two baselines a model must beat (the majority class and a keyword rule)."""

import re
from collections import Counter

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

TARGET_PRECISION = 0.9
_WORD = re.compile(r"[a-z][a-z0-9]+")


def expected_calibration_error(confidence, correct, bins: int = 10) -> float:
    """|accuracy − mean confidence| per equal-width confidence bin, weighted by the bin's share."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    if not len(confidence):
        return 0.0
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def coverage_at_precision(confidence, correct, target: float = TARGET_PRECISION):
    """The largest share of tickets, taken by falling confidence, whose predictions are right at
    least `target` of the time, and the confidence threshold that selects them."""
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=float)
    if not len(confidence):
        return 0.0, None
    order = np.argsort(-confidence, kind="stable")
    hits = np.cumsum(correct[order])
    precision = hits / np.arange(1, len(order) + 1)
    ok = np.nonzero(precision >= target)[0]
    if not len(ok):
        return 0.0, None
    k = int(ok[-1])
    return (k + 1) / len(order), float(confidence[order][k])


def evaluate(y_true, y_pred, confidence) -> dict:
    y_true, y_pred = list(y_true), list(y_pred)
    labels = sorted(set(y_true) | set(y_pred))
    precision, recall, _, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    correct = [t == p for t, p in zip(y_true, y_pred, strict=True)]
    coverage, threshold = coverage_at_precision(confidence, correct)
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)) if y_true else 0.0,
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))
        if y_true
        else 0.0,
        "ece": expected_calibration_error(confidence, correct),
        "coverage_at_p90": coverage,
        "threshold_at_p90": threshold,
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "support": int(s)}
            for label, p, r, s in zip(labels, precision, recall, support, strict=True)
        },
    }


class MajorityBaseline:
    name = "majority class"

    def fit(self, texts, labels):
        counts = Counter(labels)
        self.label, count = counts.most_common(1)[0]
        self.share = count / len(labels)
        return self

    def predict(self, texts):
        return [self.label] * len(texts), [self.share] * len(texts)


class KeywordBaseline:
    """The rule a lead would write: each class's most telling words (seen in training text at
    least 3 times, mostly in that class), the class with most hits wins, else the majority."""

    name = "keyword rule"

    def __init__(self, per_class: int = 8):
        self.per_class = per_class

    def fit(self, texts, labels):
        self.majority = Counter(labels).most_common(1)[0][0]
        by_class: dict[str, Counter] = {}
        overall: Counter = Counter()
        for text, label in zip(texts, labels, strict=True):
            words = set(_WORD.findall(text.lower()))
            by_class.setdefault(label, Counter()).update(words)
            overall.update(words)
        self.keywords = {}
        for label, counts in by_class.items():
            scored = [
                (count / overall[word], count, word)
                for word, count in counts.items()
                if count >= 3 and count / overall[word] >= 0.5
            ]
            self.keywords[label] = {w for _, _, w in sorted(scored, reverse=True)[: self.per_class]}
        return self

    def predict(self, texts):
        labels, confidence = [], []
        for text in texts:
            words = set(_WORD.findall(text.lower()))
            hits = {label: len(words & kw) for label, kw in self.keywords.items()}
            best = max(hits.values(), default=0)
            if best == 0:
                labels.append(self.majority)
                confidence.append(0.0)
                continue
            winners = sorted(label for label, h in hits.items() if h == best)
            labels.append(winners[0])
            confidence.append(best / (sum(hits.values()) or 1))
        return labels, confidence
