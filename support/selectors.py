"""Reads shared by the API, the desk, the help center and the admin."""

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce

from core.roles import is_staff_member

from .models import Attachment, MessageRecipient, Ticket, TicketMessage

LIST_RELATED = ["customer", "assigned_to", "team", "category", "organization", "sla_policy"]


def _unread_for(user):
    counts = (
        MessageRecipient.objects.filter(ticket=OuterRef("pk"), recipient=user, read_at__isnull=True)
        .order_by()
        .values("ticket")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def tickets_for(user):
    """The tickets `user` may see, loaded for list and detail serialisers in constant queries."""
    queryset = (
        Ticket.objects.visible_to(user).select_related(*LIST_RELATED).prefetch_related("tags")
    )
    if is_staff_member(user):
        queryset = queryset.annotate(unread_count=_unread_for(user))
    return queryset


def messages_for(*, ticket: Ticket, user):
    """The ticket's conversation as `user` may see it: customers never get internal notes."""
    queryset = ticket.messages.select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
    )
    if not is_staff_member(user):
        queryset = queryset.filter(is_internal=False)
    else:
        queryset = queryset.prefetch_related(
            Prefetch("recipients", queryset=MessageRecipient.objects.select_related("recipient"))
        )
    return queryset


def attachments_for(*, ticket: Ticket, user):
    queryset = Attachment.objects.filter(ticket=ticket).select_related("message")
    if not is_staff_member(user):
        queryset = queryset.filter(message__is_internal=False)
    return queryset


def search_tickets(queryset, q: str):
    """Keyword search: a ticket number or e-mail address exactly, else full text."""
    q = q.strip()
    if not q:
        return queryset
    if q.upper().startswith("TKT-"):
        return queryset.filter(number__iexact=q)
    if "@" in q:
        return queryset.filter(customer_email__iexact=q)
    from django.db import connection

    if connection.vendor == "postgresql":
        from .search import full_text

        return full_text(queryset, q)
    return queryset.filter(Q(subject__icontains=q) | Q(description_text__icontains=q))


def public_message_count(ticket: Ticket) -> int:
    return TicketMessage.objects.filter(ticket=ticket, is_internal=False).count()
