"""The signed approve and reject links of a completion e-mail.

A link names the booking, the answer and the completion's nonce (`Booking.link_nonce`, new for
every completion request and cleared once the customer answers), and is signed with its own salt
(`SECRET_KEY`). So a forged or altered link fails the signature, an old one is refused after
`BOOKING_LINK_MAX_AGE_HOURS`, and a used one (or one of an earlier request) no longer matches
the booking's nonce. The link only opens a page; the answer is a POST from it (mail scanners
open links, they do not press buttons).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

from core.errors import DomainError

SALT = "bookings.completion-answer"
ANSWERS = ("approve", "reject")


class LinkRefused(DomainError):
    status_code = 400
    code = "invalid_link"


@dataclass(frozen=True)
class Answer:
    booking_id: int
    answer: str
    nonce: str


def make_token(booking, answer: str) -> str:
    if answer not in ANSWERS or not booking.link_nonce:
        raise ValueError("A link needs an answer and a booking waiting for one.")
    return signing.TimestampSigner(salt=SALT).sign_object(
        {"b": booking.pk, "a": answer, "n": booking.link_nonce}, compress=False
    )


def link_url(booking, answer: str) -> str:
    return settings.SITE_URL + reverse("bookings-answer", args=[make_token(booking, answer)])


def read_token(token: str) -> Answer:
    """The answer a token carries; `LinkRefused` if it is forged, altered or too old."""
    try:
        data = signing.TimestampSigner(salt=SALT).unsign_object(
            token, max_age=settings.BOOKING_LINK_MAX_AGE_HOURS * 3600
        )
    except signing.SignatureExpired:
        raise LinkRefused(
            "This link has expired. Sign in to answer.", code="link_expired"
        ) from None
    except (signing.BadSignature, ValueError, UnicodeError):
        raise LinkRefused("This link is not valid.") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("b"), int)
        or data.get("a") not in ANSWERS
        or not isinstance(data.get("n"), str)
        or not data["n"]
    ):
        raise LinkRefused("This link is not valid.")
    return Answer(booking_id=data["b"], answer=data["a"], nonce=data["n"])
