"""The article state machine as data (`core.workflow`).

Authors (any staff member) write drafts and send them for review; support leads publish,
archive and bring an archived article back as a draft. Nobody but staff moves an article.
"""

from core.workflow import STAFF, StateMachine, Transition

from .models import Status

EDITOR = "editor"  # a support lead or an admin: who may publish

ARTICLE = StateMachine(
    "article",
    Status,
    [
        Transition(Status.DRAFT, Status.IN_REVIEW, {STAFF, EDITOR}),
        Transition(Status.DRAFT, Status.PUBLISHED, {EDITOR}),
        Transition(Status.IN_REVIEW, Status.DRAFT, {STAFF, EDITOR}),
        Transition(Status.IN_REVIEW, Status.PUBLISHED, {EDITOR}),
        Transition(Status.PUBLISHED, Status.DRAFT, {EDITOR}),
        Transition(Status.PUBLISHED, Status.ARCHIVED, {EDITOR}),
        Transition(Status.ARCHIVED, Status.DRAFT, {EDITOR}),
    ],
    noun="article",
)
