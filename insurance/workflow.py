"""The insurance-document state machine as data (`core.workflow`).

Reviewers take a submitted document into review and decide there: approve, reject or ask for
more information. The system moves the rest: a document whose checklist is complete goes back to
review, an approved one whose coverage has lapsed expires, and a replaced one is superseded
(an approved one only once its replacement is approved, so coverage never has a gap).
"""

from core.workflow import SYSTEM, StateMachine, Transition

from .models import Status

REVIEWER = "reviewer"  # a user with the reviewer role, or an admin

DOCUMENT = StateMachine(
    "insurance_document",
    Status,
    [
        Transition(Status.SUBMITTED, Status.UNDER_REVIEW, {REVIEWER}),
        Transition(Status.UNDER_REVIEW, Status.APPROVED, {REVIEWER}),
        Transition(Status.UNDER_REVIEW, Status.REJECTED, {REVIEWER}),
        Transition(Status.UNDER_REVIEW, Status.INFO_REQUESTED, {REVIEWER}),
        Transition(Status.INFO_REQUESTED, Status.UNDER_REVIEW, {SYSTEM}),
        Transition(Status.APPROVED, Status.EXPIRED, {SYSTEM}),
        *(
            Transition(source, Status.SUPERSEDED, {SYSTEM})
            for source in (
                Status.SUBMITTED,
                Status.UNDER_REVIEW,
                Status.INFO_REQUESTED,
                Status.APPROVED,
                Status.REJECTED,
                Status.EXPIRED,
            )
        ),
    ],
    noun="insurance document",
)
