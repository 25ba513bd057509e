import io
import logging

import pytest

from core.redaction import redact

SECRETS = [
    "password=hunter2secret",
    '"token": "abc123def456ghi"',
    "Authorization: Token sdk_AbCdEf0123456789xyz",
    "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
    "api_key=k-987654321",
]


@pytest.mark.parametrize("text", SECRETS)
def test_secrets_are_masked(text):
    masked = redact(text)
    for word in (
        "hunter2secret",
        "abc123def456ghi",
        "sdk_AbCdEf0123456789xyz",
        "eyJhbGci",
        "k-987654321",
    ):
        assert word not in masked


def test_addresses_and_phones_are_masked_but_ticket_numbers_and_times_stay():
    text = (
        "Mail to ann.smith@example.com and +44 7700 900123 or 020 7946 0958 about "
        "TKT-20261203-0001 at 2026-12-03 14:39:17, id 123456789"
    )
    masked = redact(text)
    assert "ann.smith@example.com" not in masked and "a***@example.com" in masked
    assert "7700 900123" not in masked and "7946 0958" not in masked
    assert "TKT-20261203-0001" in masked and "2026-12-03 14:39:17" in masked
    assert "123456789" in masked


def test_the_configured_log_handler_writes_no_password_token_or_address():
    handler = next(
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler)
        and any(type(f).__name__ == "RedactingFilter" for f in h.filters)
    )
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        log = logging.getLogger("tests.redaction")
        log.warning("sign-in for %s with password=%s", "bob@example.com", "s3cret-pass")
        try:
            raise ValueError("token=sdk_abcdefghijklmnop for +44 7700 900999")
        except ValueError:
            log.exception("failed for carol@example.org")
    finally:
        handler.setStream(old)
    out = stream.getvalue()
    assert "sign-in for b***@example.com" in out
    for leaked in (
        "bob@example.com",
        "s3cret-pass",
        "sdk_abcdefghijklmnop",
        "900999",
        "carol@example.org",
    ):
        assert leaked not in out
    assert "ValueError" in out  # the traceback is still there, masked
