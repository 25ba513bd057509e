from celery import shared_task

from . import viewcounts


@shared_task(acks_late=True, ignore_result=True)
def flush_view_counts() -> int:
    """Write the views counted in the cache to the articles (beat, every minute)."""
    return viewcounts.flush_due()
