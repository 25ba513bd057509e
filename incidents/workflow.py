"""The incident state machine as data (`core.workflow`).

An incident moves forward through detected → investigating → identified → monitoring →
resolved → closed, and may skip ahead (a fix found at once goes straight to monitoring or
resolved). While active it may step back to investigating or identified (the fix did not hold);
a resolved incident may be reopened (investigating) until it is closed. Closed is final. Staff
make every move; closing a critical or high incident also needs its post-mortem complete (a rule
of the service, not of the table).
"""

from core.workflow import STAFF, StateMachine, Transition

from .models import Status

_FORWARD = [
    (Status.DETECTED, Status.INVESTIGATING),
    (Status.DETECTED, Status.IDENTIFIED),
    (Status.DETECTED, Status.MONITORING),
    (Status.DETECTED, Status.RESOLVED),
    (Status.INVESTIGATING, Status.IDENTIFIED),
    (Status.INVESTIGATING, Status.MONITORING),
    (Status.INVESTIGATING, Status.RESOLVED),
    (Status.IDENTIFIED, Status.MONITORING),
    (Status.IDENTIFIED, Status.RESOLVED),
    (Status.MONITORING, Status.RESOLVED),
    (Status.RESOLVED, Status.CLOSED),
]
_BACK = [
    (Status.IDENTIFIED, Status.INVESTIGATING),
    (Status.MONITORING, Status.INVESTIGATING),
    (Status.MONITORING, Status.IDENTIFIED),
    (Status.RESOLVED, Status.INVESTIGATING),
]

INCIDENT = StateMachine(
    "incident",
    Status,
    [Transition(source, target, {STAFF}) for source, target in _FORWARD + _BACK],
    noun="incident",
)
