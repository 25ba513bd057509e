"""Every API error has one shape: `{"detail": str, "code": str, "errors": {field: [str]}}`."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
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


def exception_handler(exc, context):
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
        return Response(error_body("Invalid input.", exc.code or "invalid", errors), status=400)
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
