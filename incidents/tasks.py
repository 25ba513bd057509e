from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def check_incident_targets() -> dict:
    """Mark breached response and resolution targets and notify (beat, every minute)."""
    from .monitor import check_targets

    watch = check_targets()
    return {"response": watch.response, "resolution": watch.resolution}
