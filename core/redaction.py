"""Masking: logs, error reports and text sent to hosted providers never carry passwords,
tokens, full e-mail addresses or phone numbers.

`redact(text)` is the helper every outward path uses (the AI assist's prompts to a hosted
provider call it too); `RedactingFilter` applies it to every log record (message, arguments
and traceback), wired on the handlers in `LOGGING`.
"""

import logging
import re

MASK = "[redacted]"

_SECRET_NAMES = (
    r"(?:password|passwd|pwd|secret|token|api[_-]?key|authorization|cookie|sessionid"
    r"|csrftoken|csrfmiddlewaretoken|key)"
)
_PATTERNS = [
    # name=value, name: value, "name": "value" (query strings, headers, dict reprs, JSON)
    (
        re.compile(
            rf"""(?P<name>["']?\b\w*{_SECRET_NAMES}\w*["']?\s*[:=]\s*)(?P<q>["']?)(?P<value>[^\s"'&,;}}]+)""",
            re.IGNORECASE,
        ),
        lambda m: f"{m.group('name')}{m.group('q')}{MASK}",
    ),
    # Authorization schemes and the platform's API keys.
    (re.compile(r"\b(Bearer|Token|Basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE), rf"\1 {MASK}"),
    (re.compile(r"\bsdk_[A-Za-z0-9_-]{8,}"), MASK),
    # E-mail addresses: the first letter and the domain stay, to tell addresses apart.
    (
        re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b"),
        r"\1***@\2",
    ),
    # Phone numbers: international (+44 7700 900123) and national (020 7946 0958) forms.
    (re.compile(r"(?<![\w.:/-])\+\d[\d\s().-]{6,}\d(?![\w-])"), "[phone]"),
    (re.compile(r"(?<![\w.:/-])\(?0\d{2,4}\)?[\s-]\d{3,4}[\s-]?\d{3,4}(?![\w-])"), "[phone]"),
]


def redact(text) -> str:
    """`text` with secrets, tokens, e-mail addresses and phone numbers masked."""
    if not isinstance(text, str):
        text = str(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Masks each record once, whatever handler or formatter comes after."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template, drop the arguments
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._redacted = True
        return True
