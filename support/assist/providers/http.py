"""POST JSON to a provider within one deadline: retries on 429 and 5xx honour `Retry-After`.

The deadline covers every attempt and every wait, so a caller's fallback still runs within
`AI_TIMEOUT_S`. A `Retry-After` that would pass the deadline ends the retries at once.
"""

import email.utils
import json
import random
import time

import httpx

from .base import ProviderError, ProviderMalformed, ProviderTimeout

RETRY_STATUSES = {429, 500, 502, 503, 504, 529}


def _retry_after(response: httpx.Response, attempt: int) -> float:
    value = response.headers.get("retry-after", "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            if when is not None:
                return max(0.0, when.timestamp() - time.time())
    # Jittered exponential backoff when the provider does not say.
    return min(8.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)


def post_json(
    url: str,
    *,
    payload: dict,
    headers: dict,
    timeout_s: float,
    max_retries: int,
    sleep=time.sleep,
    client: httpx.Client | None = None,
) -> tuple[dict, int]:
    """The decoded JSON body and the number of attempts it took; raises a ProviderError."""
    deadline = time.monotonic() + timeout_s
    owns = client is None
    client = client or httpx.Client(follow_redirects=False)
    attempt = 0
    try:
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProviderTimeout("No answer within the deadline.", attempts=attempt - 1)
            try:
                response = client.post(
                    url,
                    json=payload,
                    headers=headers,
                    timeout=httpx.Timeout(remaining, connect=min(remaining, 5.0)),
                )
            except httpx.TimeoutException as error:
                raise ProviderTimeout(
                    f"Timed out: {error.__class__.__name__}", attempts=attempt
                ) from error
            except httpx.HTTPError as error:
                raise ProviderError(f"Transport error: {error}", attempts=attempt) from error
            if response.status_code in RETRY_STATUSES and attempt <= max_retries:
                wait = _retry_after(response, attempt)
                if time.monotonic() + wait >= deadline:
                    raise ProviderTimeout(
                        f"HTTP {response.status_code}; Retry-After {wait:.1f}s passes the deadline",
                        status=response.status_code,
                        attempts=attempt,
                    )
                sleep(wait)
                continue
            if response.status_code >= 400:
                raise ProviderError(
                    f"HTTP {response.status_code}: {response.text[:300]}",
                    status=response.status_code,
                    attempts=attempt,
                )
            try:
                body = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise ProviderMalformed(
                    f"Not JSON: {response.text[:200]!r}", attempts=attempt
                ) from error
            if not isinstance(body, dict):
                raise ProviderMalformed("The body is not a JSON object.", attempts=attempt)
            return body, attempt
    finally:
        if owns:
            client.close()
