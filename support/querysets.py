"""Who may see which tickets, in one place, and the eager loading each listing needs."""

from django.db import models
from django.db.models import Q

from core.crypto import hash_or_empty
from core.roles import Role, has_role, is_staff_member


def sees_all_tickets(user) -> bool:
    return has_role(user, Role.SUPPORT_LEAD, Role.ADMIN)


class TicketQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Leads and admins: all. Agents: their teams', their own and unassigned-team tickets.

        Customers: their own, or their organisation's if they are its admin. Anyone else: none.
        """
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if sees_all_tickets(user):
            return self
        if is_staff_member(user):
            team_ids = list(user.support_teams.values_list("pk", flat=True))
            return self.filter(Q(team__isnull=True) | Q(team_id__in=team_ids) | Q(assigned_to=user))
        if has_role(user, Role.CUSTOMER) or not user.is_staff:
            scope = Q(customer=user)
            if user.is_organization_admin and user.organization_id:
                scope |= Q(organization_id=user.organization_id)
            return self.filter(scope)
        return self.none()

    def with_customer_email(self, address: str):
        """Tickets whose contact address is this one (exact, case-insensitive), through the
        keyed hash of the encrypted column and its index."""
        digest = hash_or_empty(address)
        return self.filter(customer_email_hash=digest) if digest else self.none()

    def with_customer(self, name_or_address: str):
        """Tickets whose contact address or contact name is exactly this (case-insensitive)."""
        digest = hash_or_empty(name_or_address)
        if not digest:
            return self.none()
        return self.filter(Q(customer_email_hash=digest) | Q(customer_name_hash=digest))

    def active(self):
        from .models.choices import ACTIVE_STATUSES

        return self.filter(status__in=ACTIVE_STATUSES)
