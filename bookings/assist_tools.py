"""The booking lookup the assistant may use: the caller's own bookings only (a technician's
jobs, all for staff), through the same scope as every bookings page."""

from core.errors import NotFound
from support.assist import tools

from .permissions import can_use_bookings
from .selectors import bookings_for


def booking_lookup(user, *, number: str) -> dict:
    booking = bookings_for(user).filter(number__iexact=number.strip()).first()
    if booking is None:
        raise NotFound("No such booking.")
    return {
        "number": booking.number,
        "service": booking.service,
        "status": booking.status,
        "scheduled_at": booking.scheduled_at.isoformat(),
        "completion_deadline": booking.completion_deadline.isoformat()
        if booking.completion_deadline
        else None,
    }


def _may_look_up(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and can_use_bookings(user)


def booking_lookup_tool() -> tools.Tool:
    return tools.Tool(
        name="booking_lookup",
        description="One of the caller's bookings by its number (BKG-YYYYMMDD-NNNN).",
        schema={
            "type": "object",
            "properties": {"number": {"type": "string", "minLength": 3, "maxLength": 40}},
            "required": ["number"],
            "additionalProperties": False,
        },
        run=booking_lookup,
        permission=_may_look_up,
        risk=tools.Risk.READ,
    )
