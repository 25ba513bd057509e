from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def expire_lapsed_documents() -> int:
    """Marks approved documents whose coverage has lapsed expired (beat, hourly); idempotent.

    The reminders themselves are scheduled work, sent by `core.tasks.run_scheduled_work`.
    """
    from .services import expire_lapsed

    return expire_lapsed()
