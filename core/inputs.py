"""What the boundary accepts: the parsers every endpoint uses for ids, numbers and times.

Input that a database would refuse is refused here, as a 400 in the caller's format, before a
query is built from it:

- a NUL character anywhere in the path or the query string (PostgreSQL text cannot hold one;
  `RejectNulCharactersMiddleware` refuses the request, JSON and form bodies are checked by their
  fields: DRF's `CharField` refuses NUL itself);
- digits that are not ASCII: `"¹".isdigit()` is true and `int("¹")` raises, `"١٢".isdigit()` is
  true and `int("١٢")` is 12; an id is `[0-9]+`, nothing else, and fits a 64-bit column;
- time-zone offsets PostgreSQL does not accept (beyond ±15:59) and times that leave the
  calendar once moved to UTC: times are converted to UTC here, so the database is handed an
  offset of zero.
"""

import re
from datetime import UTC, datetime

from django.core.exceptions import ValidationError

ID_PATTERN = r"[0-9]+"
_ID = re.compile(r"[0-9]{1,19}")
# A 64-bit signed column (Django's BigAutoField, PostgreSQL's bigint) holds up to this.
MAX_ID = 2**63 - 1
NUL = "\x00"


def parse_id(value) -> int | None:
    """A positive id written in ASCII digits that fits a 64-bit column, else None."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def parse_count(value, *, minimum: int = 0, maximum: int = MAX_ID) -> int | None:
    """A whole number in ASCII digits within [minimum, maximum], else None (pages, sizes)."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        return None
    number = int(value)
    return number if minimum <= number <= maximum else None


def as_utc(value: datetime) -> datetime:
    """An aware datetime moved to UTC; one that leaves the calendar doing so is refused."""
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError("This time is out of range.", code="out_of_range") from None


def has_nul(*texts: str) -> bool:
    return any(NUL in text for text in texts)


class RejectNulCharactersMiddleware:
    """A NUL character in the path or the query string is a 400, for every endpoint and page.

    Before URL resolution, so no view, filter or lookup ever builds a query from one. The answer
    is the API's JSON error under /api/ and the 400 page elsewhere (`core.views`).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if has_nul(request.path) or any(
            has_nul(key, *values) for key, values in request.GET.lists()
        ):
            from core.views import malformed_request

            return malformed_request(request, "The request contains a NUL character.")
        return self.get_response(request)
