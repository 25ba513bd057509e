"""Who may do what with bookings (`core.permissions`), for the services, the API and the pages.

Customers act on their own bookings (approve, reject, review), technicians on the jobs they are
booked for (start, request completion), support staff (agents, leads, admins) on every booking
(book, follow up, log contact attempts, complete with an outcome, cancel). Scope is
`selectors.bookings_for`: a booking someone may not see is a 404 before any predicate runs.
Called without a booking, a predicate says whether the user may do the action at all.
"""

from core.permissions import action
from core.roles import Role, has_role, is_staff_member


def is_technician(user) -> bool:
    return has_role(user, Role.TECHNICIAN)


def is_customer_kind(user) -> bool:
    """Someone who books: no staff or technician role."""
    return not is_staff_member(user) and not is_technician(user)


@action("bookings.use", "Bookings are for their customers, technicians and support staff.")
def can_use_bookings(user) -> bool:
    return True


@action("bookings.manage", "Only support staff may do this.")
def can_manage(user, booking=None) -> bool:
    """Book, cancel, follow up, log contact attempts, complete: support staff."""
    return is_staff_member(user)


@action("bookings.work", "Only the booking's technician may do this.")
def can_work(user, booking=None) -> bool:
    """Start the job and request its completion: its technician (staff may start a job too,
    through `can_start`)."""
    if booking is None:
        return is_technician(user)
    return booking.technician_id is not None and booking.technician_id == user.pk


@action("bookings.start", "Only the booking's technician or support staff may start it.")
def can_start(user, booking=None) -> bool:
    return is_staff_member(user) or can_work(user, booking)


@action("bookings.respond", "Only the booking's customer may do this.")
def can_respond(user, booking=None) -> bool:
    """Approve, reject and review: the booking's customer alone."""
    if booking is None:
        return is_customer_kind(user)
    return booking.customer_id == user.pk


def booking_actions(user, booking) -> dict[str, bool]:
    """Which buttons a page shows (the same predicates; the state is checked by the service)."""
    return {
        "manage": can_manage(user, booking),
        "work": can_work(user, booking),
        "start": can_start(user, booking),
        "respond": can_respond(user, booking),
    }
