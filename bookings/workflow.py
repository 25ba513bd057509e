"""The booking state machine as data (`core.workflow`), printed in `docs/state-machines.md`.

The technician starts the job and says it is done; the customer approves (verified) or rejects
(back in progress) the completion; support settles a silent customer's booking with an outcome
(verified or disputed) and may send a disputed job back to work; the daily job completes a
follow-up that never reached the customer. Staff may cancel a job that is not finished.
"""

from core.workflow import CUSTOMER, STAFF, SYSTEM, StateMachine, Transition

from .models import Status

TECHNICIAN = "technician"  # the booking's own technician

BOOKING = StateMachine(
    "booking",
    Status,
    [
        Transition(Status.SCHEDULED, Status.IN_PROGRESS, {TECHNICIAN, STAFF}),
        Transition(Status.SCHEDULED, Status.CANCELLED, {STAFF}),
        Transition(Status.IN_PROGRESS, Status.PENDING_COMPLETION, {TECHNICIAN}),
        Transition(Status.IN_PROGRESS, Status.CANCELLED, {STAFF}),
        Transition(Status.PENDING_COMPLETION, Status.VERIFIED, {CUSTOMER, STAFF, SYSTEM}),
        Transition(Status.PENDING_COMPLETION, Status.IN_PROGRESS, {CUSTOMER}),
        Transition(Status.PENDING_COMPLETION, Status.DISPUTED, {STAFF}),
        Transition(Status.DISPUTED, Status.IN_PROGRESS, {STAFF}),
    ],
    noun="booking",
)
