"""Thin Celery tasks of analytics: each calls one function."""

from celery import shared_task

from . import alerts, rollups


@shared_task(name="analytics.tasks.refresh_rollups", ignore_result=True)
def refresh_rollups() -> int:
    """Fold the ticket events since the watermark into the daily rollups (every minute)."""
    return rollups.refresh().changed


@shared_task(name="analytics.tasks.send_alerts", ignore_result=True)
def send_alerts() -> int:
    """Check the alert rules and tell the leads about new conditions (every five minutes)."""
    return len(alerts.check_alerts())
