"""Every API error has one shape: `{"detail": str, "code": str, "errors": {field: [str]}}`."""

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError

NON_FIELD = "non_field_errors"


def _flatten(detail) -> list[str]:
    if isinstance(detail, list):
        out = []
        for item in detail:
            out += _flatten(item)
        return out
    if isinstance(detail, dict):
        return [f"{key}: {msg}" for key, value in detail.items() for msg in _flatten(value)]
    return [str(detail)]


def _field_errors(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(field): _flatten(messages) for field, messages in detail.items()}
    return {NON_FIELD: _flatten(detail)}


def _first_code(detail) -> str | None:
    if isinstance(detail, dict):
        for value in detail.values():
            code = _first_code(value)
            if code:
                return code
    if isinstance(detail, list) and detail:
        return _first_code(detail[0])
    return getattr(detail, "code", None)


def error_body(detail: str, code: str, errors: dict | None = None) -> dict:
    return {"detail": detail, "code": code, "errors": errors or {}}


# What `initial()` raises before DRF looks for the method's handler.
_REFUSALS_BEFORE_DISPATCH = (
    exceptions.NotAuthenticated,
    exceptions.AuthenticationFailed,
    exceptions.PermissionDenied,
    exceptions.Throttled,
    PermissionDenied,
)


def _method_unsupported(context) -> bool:
    """The view has no handler for the request's method (DRF finds out only after `initial()`)."""
    view, request = context.get("view"), context.get("request")
    if view is None or request is None:
        return False
    method = request.method.lower()
    return method not in view.http_method_names or not hasattr(view, method)


def _answer_in_json(context) -> None:
    """An error is JSON even from a view that renders YAML, OpenAPI or a template."""
    request = context.get("request")
    renderer = getattr(request, "accepted_renderer", None)
    if renderer is not None and renderer.format not in ("json", "api"):
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type


def exception_handler(exc, context):
    _answer_in_json(context)
    # DRF authenticates, checks permissions and throttles before it looks for the method's
    # handler, so an unsupported method would be a 401/403. What the endpoint supports is no
    # secret (the schema lists it): answer 405 whoever asks.
    if isinstance(exc, _REFUSALS_BEFORE_DISPATCH) and _method_unsupported(context):
        exc = exceptions.MethodNotAllowed(context["request"].method)
    if isinstance(exc, RequestDataTooBig):
        limit = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return Response(
            error_body(f"The request body is larger than {limit}.", "request_too_large"),
            status=413,
        )
    if isinstance(exc, TooManyFilesSent | TooManyFieldsSent):
        return Response(error_body(str(exc) or "Too many parts.", "too_many_parts"), status=400)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("The request could not be read.", "bad_request"), status=400)
    if isinstance(exc, DomainError):
        body = error_body(exc.message, exc.code, exc.errors)
        body.update(exc.extra)
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        errors = (
            {f: [str(m) for m in msgs] for f, msgs in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {NON_FIELD: [str(m) for m in exc.messages]}
        )
        # A ValidationError made of a dict of errors has no `code` of its own.
        code = getattr(exc, "code", None) or "invalid"
        return Response(error_body("Invalid input.", code, errors), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(
            "Invalid input.", _first_code(exc.detail) or "invalid", _field_errors(exc.detail)
        )
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = detail if isinstance(detail, str) else "; ".join(_flatten(detail))
        code = getattr(detail, "code", None) or exc.default_code
        response.data = error_body(str(message), str(code))
    return response
