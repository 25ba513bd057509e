"""The ticket state machine as data (`core.workflow`): used by services, API, desk forms and docs.

Staff may make every move of DESIGN §4's table; a customer may confirm or reopen their resolved
ticket and cancel it while it is active; the system (auto-close, merging) moves as staff do and
may also close any ticket short of final when it is merged into another.
"""

from core.workflow import CUSTOMER, STAFF, SYSTEM, StateMachine, Transition

from .models.choices import ACTIVE_STATUSES, FINAL_STATUSES, Status

S = Status

# from -> allowed targets for staff (DESIGN §4). Nothing else changes a ticket's status.
_STAFF_TABLE = {
    S.OPEN: {S.ASSIGNED, S.IN_PROGRESS, S.WAITING_ON_CUSTOMER, S.RESOLVED, S.CANCELLED},
    S.ASSIGNED: {
        S.OPEN,
        S.IN_PROGRESS,
        S.WAITING_ON_CUSTOMER,
        S.WAITING_ON_INTERNAL,
        S.RESOLVED,
        S.CANCELLED,
    },
    S.IN_PROGRESS: {S.WAITING_ON_CUSTOMER, S.WAITING_ON_INTERNAL, S.RESOLVED, S.CANCELLED},
    S.WAITING_ON_CUSTOMER: {S.IN_PROGRESS, S.RESOLVED, S.CANCELLED},
    S.WAITING_ON_INTERNAL: {S.IN_PROGRESS, S.RESOLVED, S.CANCELLED},
    S.RESOLVED: {S.CLOSED, S.IN_PROGRESS},
}
# What a customer may do to their own ticket.
_CUSTOMER_TABLE = {
    S.RESOLVED: {S.CLOSED, S.IN_PROGRESS},  # confirm, or reopen
    **{status: {S.CANCELLED} for status in ACTIVE_STATUSES},
}
# A merged ticket is closed from whatever state it was in, short of final.
_MERGED = {status: {S.CLOSED} for status in Status.values if status not in FINAL_STATUSES}


def _transitions():
    pairs = {
        (source, target)
        for table in (_STAFF_TABLE, _CUSTOMER_TABLE, _MERGED)
        for source, targets in table.items()
        for target in targets
    }
    for source, target in sorted(pairs):
        parties = {SYSTEM} if target in _MERGED.get(source, ()) else set()
        if target in _STAFF_TABLE.get(source, ()):
            parties |= {STAFF, SYSTEM}
        if target in _CUSTOMER_TABLE.get(source, ()):
            parties.add(CUSTOMER)
        yield Transition(source, target, parties)


TICKET = StateMachine("ticket", Status, _transitions(), noun="ticket")

TRANSITIONS = TICKET.targets_by_source(party=STAFF)
CUSTOMER_TRANSITIONS = TICKET.targets_by_source(party=CUSTOMER)


def party_of(*, staff: bool, system: bool = False) -> str:
    return SYSTEM if system else STAFF if staff else CUSTOMER


def allowed_targets(status: str, *, staff: bool = True) -> list[str]:
    return TICKET.allowed(status, party=party_of(staff=staff))


def check_transition(current: str, target: str, *, staff: bool = True, system: bool = False):
    """Raise TransitionRefused (HTTP 409) naming the allowed targets when the move is refused."""
    TICKET.check(current, target, party=party_of(staff=staff, system=system))
