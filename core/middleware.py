import sys
import zoneinfo

from django.conf import settings
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
