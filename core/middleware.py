import logging
import sys
import zoneinfo
from sys import exc_info

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control

API_PREFIX = "/api/"


class UserTimezoneMiddleware:
    """Pages show times in the viewer's own zone and language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            if user.language:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
        else:
            timezone.deactivate()
        return self.get_response(request)


class PrivateResponseMiddleware:
    """What a signed-in caller is shown, and every API answer, is never stored by any cache.

    `Cache-Control: private, no-store` on everything under /api/ and on every response to a
    request that carries credentials (a session cookie or an Authorization header): pages,
    downloads, token calls. Deciding by the credentials rather than by `request.user` costs
    no query, so it holds while the database is down, and errs towards private for a stale
    cookie. Anonymous pages, static files (served by WhiteNoise before this runs) and health
    checks keep their own headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith(API_PREFIX)
            or settings.SESSION_COOKIE_NAME in request.COOKIES
            or "HTTP_AUTHORIZATION" in request.META
        ):
            patch_cache_control(response, private=True, no_store=True)
            # Left over from a view's own caching, these would only confuse a reader.
            response.headers.pop("Expires", None)
        return response


class RequestBodyLimitMiddleware:
    """A body larger than we would accept is answered with 413 before anyone reads it.

    Non-multipart bodies (JSON, forms) may be `DATA_UPLOAD_MAX_MEMORY_SIZE` bytes, as Django
    itself enforces only when the body is read through `request.body`/`POST` (DRF's JSON parser
    reads the stream directly). Multipart bodies may be `REQUEST_BODY_MAX_BYTES`, room for the
    attachments a message may carry, so one file over the attachment cap still gets the
    attachment's own "larger than 10 MB" error. The answer is the API's JSON error under /api/
    and the 413 page elsewhere (`core.views.request_too_large`).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._declared_size(request) > self._limit(request):
            from core.views import request_too_large

            return request_too_large(request)
        return self.get_response(request)

    @staticmethod
    def _declared_size(request) -> int:
        try:
            return int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return 0

    @staticmethod
    def _limit(request) -> int:
        if request.content_type == "multipart/form-data":
            return settings.REQUEST_BODY_MAX_BYTES
        if settings.DATA_UPLOAD_MAX_MEMORY_SIZE is None:
            return sys.maxsize
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


# --- Database outages ---------------------------------------------------------------------

DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30
_outage_logger = logging.getLogger("core.outages")


def _remember_database_error(sender, request=None, **kwargs):
    """Marks a request whose handling raised a database connection error at any layer."""
    exc = exc_info()[1]
    if request is not None and isinstance(exc, DATABASE_UNAVAILABLE):
        request.database_unavailable = exc


class DatabaseUnavailableMiddleware:
    """A database that cannot be reached is answered with 503 and `Retry-After`, not a traceback.

    Under /api/ the answer is the API's error format (`code: service_unavailable`); elsewhere it
    is `templates/503.html`, rendered without a request context (context processors query the
    database). A connection error raised by a view reaches `process_exception`; one raised by an
    inner middleware (the session or the signed-in user, read lazily) has already been turned
    into a 500 by Django's handler, so the `got_request_exception` signal marks the request and
    the 500 is replaced here. Put this outermost but for the request id.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        got_request_exception.connect(
            _remember_database_error, dispatch_uid="core.database_unavailable"
        )

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "database_unavailable", None) is not None:
            return self._unavailable(request, request.database_unavailable)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_UNAVAILABLE):
            return self._unavailable(request, exception)
        return None

    @staticmethod
    def _unavailable(request, exc):
        _outage_logger.warning(
            "Database unavailable for %s %s: %s: %s",
            request.method,
            request.path,
            type(exc).__name__,
            str(exc).strip().splitlines()[0] if str(exc).strip() else "",
        )
        if request.path.startswith("/api/"):
            response = JsonResponse(
                {
                    "detail": "The service is briefly unavailable. Please try again shortly.",
                    "code": "service_unavailable",
                    "errors": {},
                },
                status=503,
            )
        else:
            response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "private, no-store"
        return response
