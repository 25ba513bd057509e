"""`Idempotency-Key` for creating requests: a retried POST returns the first answer, once.

The key's record is inserted in the same transaction as the creation. A concurrent request with
the same key blocks on the unique index until the first commits, then replays its answer; if the
first fails, nothing of it is kept and the retry runs afresh.
"""

import hashlib
import json
import re
from functools import wraps

from django.core.exceptions import RequestDataTooBig
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http.request import RawPostDataException
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from core.clients import client_address
from core.errors import Conflict, DomainError
from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
# Printable ASCII without spaces, as the OpenAPI parameter says (`[!-~]` is `[\x21-\x7e]`).
KEY_PATTERN = re.compile(r"^[!-~]{1,255}$")
REPLAYED_HEADER = "Idempotent-Replayed"

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type={"type": "string", "pattern": KEY_PATTERN.pattern, "minLength": 1, "maxLength": 255},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "A unique key (e.g. a UUID) per intended creation: 1 to 255 printable ASCII characters, "
        "no spaces. Repeating the request with the same key returns the first response, with "
        "`Idempotent-Replayed: true`, instead of creating twice (kept 24 hours). The same key "
        "with a different request is a 422; while the first is still running, a 409."
    ),
)


class IdempotencyKeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"


def _scope(request) -> str:
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"anon:{client_address(request)}"


def _request_digest(request) -> str:
    django_request = getattr(request, "_request", request)
    try:
        body = django_request.body
    except (RawPostDataException, RequestDataTooBig):
        # A streamed multipart upload: describe it by its fields and files instead.
        files = sorted((name, f.name, f.size) for name, f in request.FILES.items())
        fields = sorted((k, request.POST.getlist(k)) for k in request.POST)
        body = repr((fields, files)).encode()
    raw = b"\n".join([request.method.encode(), request.get_full_path().encode(), body])
    return hashlib.sha256(raw).hexdigest()


def run_idempotently(request, create) -> Response:
    """Call `create()` (returning a DRF Response) at most once per Idempotency-Key."""
    key = request.headers.get(HEADER)
    if key is None:
        return create()
    if not KEY_PATTERN.match(key):
        raise DomainError(
            f"{HEADER} must be 1 to 255 printable ASCII characters.",
            code="invalid_idempotency_key",
            errors={HEADER: ["Invalid key."]},
        )
    digest = _request_digest(request)
    scope = _scope(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scope=scope,
                    key=key,
                    method=request.method,
                    path=request.path[:500],
                    request_digest=digest,
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.get(scope=scope, key=key)
            if record.request_digest != digest:
                raise IdempotencyKeyReused(
                    f"This {HEADER} was already used for a different request."
                ) from None
            if record.response_status is None:
                raise Conflict(
                    "A request with this key is still being processed.",
                    code="idempotency_in_progress",
                ) from None
            response = Response(record.response_body, status=record.response_status)
            response[REPLAYED_HEADER] = "true"
            return response

        response = create()
        if 200 <= response.status_code < 300:
            body = json.loads(json.dumps(response.data, cls=DjangoJSONEncoder))
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                response_status=response.status_code, response_body=body
            )
        else:
            # Nothing was created; let the client correct the request and retry with the key.
            record.delete()
        return response


def idempotent(view_method):
    """Decorator for a view(set) method that creates: `@idempotent def create(self, request)`."""

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        return run_idempotently(request, lambda: view_method(self, request, *args, **kwargs))

    return wrapper
