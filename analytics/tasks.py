"""Thin Celery tasks of analytics: each calls one function."""

from celery import shared_task

from . import rollups


@shared_task(name="analytics.tasks.refresh_rollups", ignore_result=True)
def refresh_rollups() -> int:
    """Fold the ticket events since the watermark into the daily rollups (every minute)."""
    return rollups.refresh().changed
