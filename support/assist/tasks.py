"""Thin Celery tasks of AI assist."""

import logging

from celery import shared_task

from . import breach, classifiers, retrieval, suggestions, usage

logger = logging.getLogger(__name__)


@shared_task(name="support.assist.tasks.retrain_models")
def retrain_models() -> dict:
    """Nightly: retrain each classifier; only a model better than its baselines and than the
    active one (same held-out tickets) is promoted. Returns what happened per target."""
    outcome = {}
    for target in classifiers.TARGETS:
        report = classifiers.train_and_evaluate(target)
        artifact = classifiers.save(report)
        outcome[target] = "promoted" if artifact and artifact.is_active else report.reason
        logger.info("AI retrain %s: %s", target, outcome[target])
    report, artifact = breach.retrain()
    outcome["breach"] = "promoted" if artifact and artifact.is_active else report.reason
    # Every open ticket's risk again: queue depths move as other tickets close.
    outcome["breach_risks"] = breach.score_open_tickets(full=True)
    return outcome


@shared_task(name="support.assist.tasks.score_breach_risks")
def score_breach_risks() -> dict:
    """Every 5 minutes: the breach risk of open tickets changed since the last run, stored for
    the queue's marker (only with an active breach model)."""
    return breach.score_open_tickets()


@shared_task(name="support.assist.tasks.sync_article_chunks")
def sync_article_chunks() -> dict:
    """Every 5 minutes: passages of the articles changed since the last run (cost follows them)."""
    return retrieval.sync_chunks()


@shared_task(name="support.assist.tasks.monitor_usage")
def monitor_usage() -> dict:
    """Hourly: usage rollups, spike and budget alerts, content retention."""
    return usage.monitor()


@shared_task(name="support.assist.tasks.suggest_new_tickets")
def suggest_new_tickets() -> dict:
    """Every 5 minutes: suggestions for new unassigned tickets, stored for the triage queue."""
    return suggestions.suggest_new_tickets()
