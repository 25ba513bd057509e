"""The tools over support's and knowledge's own data (other apps register theirs)."""

from core.errors import NotFound
from core.roles import is_staff_member
from support.selectors import tickets_for, with_number

from . import retrieval, tools
from .permissions import can_query


def ticket_status(user, *, number: str) -> dict:
    ticket = with_number(tickets_for(user), number).first()
    if ticket is None:
        raise NotFound("No such ticket.")
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "updated_at": ticket.updated_at.isoformat(),
    }


def kb_search(user, *, query: str) -> dict:
    passages = retrieval.search(query, user=user, public_only=not is_staff_member(user), limit=3)
    return {
        "articles": [
            {"number": p.article.number, "title": p.article.title, "score": round(p.score, 4)}
            for p in passages
        ]
    }


def create_ticket(user, *, subject: str, description: str = "") -> dict:
    from core.sanitize import text_to_html
    from support import services

    ticket = services.create_ticket(
        by=user, subject=subject, description=text_to_html(description), channel="chat"
    )
    return {"number": ticket.number, "status": ticket.status}


def register() -> None:
    tools.register(tools.Tool(
        name="ticket_status",
        description="The status of one of the caller's tickets, by its number.",
        schema={"type": "object", "properties": {"number": {"type": "string", "maxLength": 40}},
                "required": ["number"], "additionalProperties": False},
        run=ticket_status, permission=can_query, risk=tools.Risk.READ,
    ))  # fmt: skip
    tools.register(tools.Tool(
        name="kb_search",
        description="Knowledge-base articles answering a question (public ones for customers).",
        schema={"type": "object",
                "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 500}},
                "required": ["query"], "additionalProperties": False},
        run=kb_search, permission=can_query, risk=tools.Risk.READ,
    ))  # fmt: skip
    tools.register(tools.Tool(
        name="create_ticket",
        description="Open a ticket for the caller (hand the conversation to an agent).",
        schema={"type": "object",
                "properties": {"subject": {"type": "string", "minLength": 1, "maxLength": 200},
                               "description": {"type": "string", "maxLength": 5000}},
                "required": ["subject"], "additionalProperties": False},
        run=create_ticket, permission=can_query, risk=tools.Risk.LOW_IMPACT_WRITE,
        rate_per_minute=5,
    ))  # fmt: skip
