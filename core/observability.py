"""Request ids: every log line of a request, and of the tasks it enqueues, carries the same id."""

import contextvars
import logging
import re
import uuid

from django.utils.log import log_response

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_request_id() -> str:
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get()
        return True


class RequestIdMiddleware:
    """Takes a well-formed X-Request-ID from the load balancer or makes one; echoes it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get(REQUEST_ID_HEADER, "")
        request_id = incoming if SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        request.request_id = request_id
        try:
            response = self.get_response(request)
            if response.status_code >= 400:
                # Django logs a 4xx/5xx response after the whole middleware chain has returned,
                # when the id is reset: log it here, inside the request (Django then skips it).
                log_response(
                    "%s: %s",
                    response.reason_phrase,
                    request.path,
                    response=response,
                    request=request,
                )
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


def connect_celery_signals():
    """Tasks inherit the request id of whoever enqueued them (a header on the message)."""
    from celery import signals

    @signals.before_task_publish.connect(weak=False)
    def _add_request_id(headers=None, **kwargs):
        if headers is not None and "request_id" not in headers:
            headers["request_id"] = request_id_var.get()

    @signals.task_prerun.connect(weak=False)
    def _bind_request_id(task=None, **kwargs):
        if task is None:
            return
        incoming = getattr(task.request, "request_id", None)
        request_id_var.set(incoming or f"task-{task.request.id}")
