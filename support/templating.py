"""Canned-response placeholders: a fixed list, substituted in one pass, never evaluated.

No template engine runs on template text, so a template (or a value substituted into it) cannot
reach attributes, call methods or pull in other placeholders.
"""

import re

from core.errors import DomainError

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)?)\s*\}\}")
# Anything that looks like a placeholder, so a malformed one (`{{ ticket.number|upper }}`,
# `{{ ticket.__class__.__mro__ }}`) is refused at save instead of reaching a customer verbatim.
ANY_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)

PLACEHOLDERS = {
    "ticket.number": "The ticket's number (TKT-…)",
    "ticket.subject": "The ticket's subject",
    "ticket.status": "The ticket's status",
    "ticket.priority": "The ticket's priority",
    "customer.name": "The customer's name",
    "customer.email": "The customer's e-mail address",
    "agent.name": "The replying agent's name",
    "agent.email": "The replying agent's e-mail address",
    "organization.name": "The customer's organisation",
}


def unknown_placeholders(text: str) -> list[str]:
    names = {" ".join(name.split()) for name in ANY_PLACEHOLDER.findall(text)}
    return sorted(name for name in names if name not in PLACEHOLDERS)


def validate_template_text(text: str) -> None:
    unknown = unknown_placeholders(text)
    if unknown:
        allowed = ", ".join("{{ " + name + " }}" for name in PLACEHOLDERS)
        raise DomainError(
            f"Unknown placeholders: {', '.join(unknown)}. Allowed: {allowed}.",
            code="unknown_placeholder",
        )


def context_for(*, ticket, agent) -> dict[str, str]:
    return {
        "ticket.number": ticket.number,
        "ticket.subject": ticket.subject,
        "ticket.status": ticket.get_status_display(),
        "ticket.priority": ticket.get_priority_display(),
        "customer.name": ticket.customer_name or ticket.customer_email.split("@")[0],
        "customer.email": ticket.customer_email,
        "agent.name": agent.display_name if agent else "",
        "agent.email": agent.email if agent else "",
        "organization.name": ticket.organization.name if ticket.organization_id else "",
    }


def render(text: str, context: dict[str, str]) -> str:
    """Replace each known placeholder once; values are inserted as plain text."""
    return PLACEHOLDER.sub(lambda m: context.get(m.group(1), m.group(0)), text)
