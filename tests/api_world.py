"""A small, complete world for driving the whole API: three roles and one of everything.

Used by the schema fuzzer (`tests/core/test_api_fuzz.py`) and the schema-examples test. The
objects the schema's own examples name (template 3, agent 7, team 2, the tickets numbered in
the merge and link examples) exist here under exactly those ids and numbers.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from bookings import services as booking_services
from core.api.authentication import create_token
from core.roles import Role
from core.webhooks import services as webhook_services
from incidents import services as incident_services
from incidents.models import Category as IncidentCategory
from incidents.models import Component
from insurance import services as insurance_services
from support.chat import services as chat_services
from support.models import AgentProfile, ChatWidget, EscalationLevel, EscalationPolicy, Ticket
from support.rules import services as rule_services
from support.services import add_message, create_ticket

from .factories import OrganizationFactory, UserFactory
from .knowledge.factories import make_article
from .support.factories import (
    AgentProfileFactory,
    CategoryFactory,
    ResponseTemplateFactory,
    TeamFactory,
    make_default_sla_policies,
)

ROLES = ("customer", "agent", "lead")
# Named by the schema's examples (support/api/views.py, sla_views.py).
EXAMPLE_AGENT_ID = 7
EXAMPLE_TEAM_ID = 2
EXAMPLE_TEMPLATE_ID = 3
EXAMPLE_TICKET_NUMBERS = ("TKT-20261125-0042", "TKT-20261124-0007")
EXAMPLE_COMPONENT_ID = 1  # incidents/api/views.py
EXAMPLE_CHAT_WIDGET = "wk-example"  # support/chat/api/views.py


@dataclass
class World:
    users: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)  # role -> key used to authenticate
    spare_tokens: dict = field(default_factory=dict)  # role -> a second token of theirs (id)
    tickets: dict = field(default_factory=dict)  # role -> a ticket that role may work
    attachment_ids: dict = field(default_factory=dict)
    team_id: int = 0
    category_slug: str = ""
    template_id: int = 0
    sla_policy_id: int = 0
    escalation_policy_id: int = 0
    article_id: int = 0
    insurance_document_id: int = 0  # the customer's, under review
    insurance_reminder_id: int = 0
    incident_id: int = 0
    component_id: int = 0
    maintenance_id: int = 0
    booking_id: int = 0  # the customer's, waiting for their answer
    trigger_id: int = 0
    automation_id: int = 0
    webhook_id: int = 0
    chat_sessions: dict = field(default_factory=dict)  # role -> public id of a chat of theirs
    ai_draft_id: int = 0  # support/assist: a reply draft, when a test made one

    def headers(self, role: str) -> dict:
        return {"Authorization": f"Token {self.tokens[role]}"}

    def path_value(self, role: str, path: str, name: str):
        """A real object for a path parameter, so the handler runs past its lookup."""
        if path.startswith("/api/v1/insurance/") and name in ("id", "pk"):
            if path.startswith("/api/v1/insurance/reminders/"):
                return self.insurance_reminder_id
            return self.insurance_document_id
        if path.startswith("/api/v1/insurance/"):
            return None
        if path.startswith("/api/v1/chat/widgets/"):
            return EXAMPLE_CHAT_WIDGET if name == "key" else None
        if path.startswith("/api/v1/chat/"):
            return (
                self.chat_sessions.get(role, self.chat_sessions["lead"]) if name == "id" else None
            )
        if path.startswith("/api/v1/bookings/"):
            return self.booking_id if name in ("id", "pk") else None
        if path.startswith("/api/v1/ai/drafts/"):
            return self.ai_draft_id
        ticket = self.tickets.get(role) or self.tickets["lead"]  # admin: no ticket of their own
        if name == "ticket":
            return ticket.number
        if name == "tool":  # support/assist: the tools endpoint's example
            return "kb_search"
        if name == "attachment_id":
            return self.attachment_ids[role]
        if name == "slug":
            return self.category_slug
        if name == "user_id":
            return self.users["agent"].pk
        if name == "number":  # an article's revision
            return 1
        if name in ("id", "pk"):
            for prefix, value in (
                ("/api/v1/incidents/components/", self.component_id),
                ("/api/v1/incidents/maintenance/", self.maintenance_id),
                ("/api/v1/incidents/", self.incident_id),
                ("/api/v1/support/tickets/", ticket.pk),
                ("/api/v1/support/teams/", self.team_id),
                ("/api/v1/support/templates/", self.template_id),
                ("/api/v1/support/sla-policies/", self.sla_policy_id),
                ("/api/v1/support/escalation-policies/", self.escalation_policy_id),
                ("/api/v1/auth/tokens/", self.spare_tokens[role]),
                ("/api/v1/knowledge/articles/", self.article_id),
                ("/api/v1/support/triggers/", self.trigger_id),
                ("/api/v1/support/automations/", self.automation_id),
                ("/api/v1/webhooks/", self.webhook_id),
            ):
                if path.startswith(prefix):
                    return value
        return None


def _insurance_document(owner, reviewer):
    today = timezone.now().date()
    document = insurance_services.submit(
        by=owner,
        file=SimpleUploadedFile("policy.pdf", _PDF, content_type="application/pdf"),
        policy_number="POL-2026-0001",
        insurer="Acme Mutual",
        coverage_type="general_liability",
        coverage_start=today - dt.timedelta(days=30),
        coverage_end=today + dt.timedelta(days=335),
    )
    return insurance_services.start_review(document=document, by=reviewer)


def _with_id(factory, pk, **kwargs):
    obj = factory(id=pk, **kwargs)
    if connection.vendor == "postgresql":  # later rows must not collide with the fixed id
        table = obj._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST((SELECT MAX(id) FROM {table}), 1))"
            )
    return obj


def _component(**fields):
    return Component.objects.create(**fields)


def _numbered(ticket, number):
    Ticket.objects.filter(pk=ticket.pk).update(number=number)
    ticket.number = number
    return ticket


def build_world() -> World:
    world = World()
    organization = OrganizationFactory()
    customer = UserFactory(roles=[Role.CUSTOMER], organization=organization)
    agent = _with_id(UserFactory, EXAMPLE_AGENT_ID, roles=[Role.AGENT], full_name="Avery Agent")
    lead = UserFactory(roles=[Role.SUPPORT_LEAD], full_name="Lee Lead")
    world.users = {"customer": customer, "agent": agent, "lead": lead}
    AgentProfileFactory(user=agent, capacity=20)
    AgentProfileFactory(user=lead, capacity=20)

    category = CategoryFactory(slug="technical", name="Technical")
    world.category_slug = category.slug
    team = _with_id(TeamFactory, EXAMPLE_TEAM_ID, members=[agent, lead], strategy="manual")
    team.categories.add(category)
    world.team_id = team.pk
    world.template_id = _with_id(ResponseTemplateFactory, EXAMPLE_TEMPLATE_ID).pk

    policy = make_default_sla_policies()[-1]
    world.sla_policy_id = policy.pk
    escalation = EscalationPolicy.objects.create(name="Default escalation")
    EscalationLevel.objects.create(policy=escalation, level=1, delay_minutes=0)
    world.escalation_policy_id = escalation.pk

    def ticket(subject, number=None):
        made = create_ticket(by=customer, subject=subject, description="<p>It fails.</p>")
        made.team = team
        made.save(update_fields=["team"])
        return _numbered(made, number) if number else made

    # The examples' merge target and link target, then one working ticket per role.
    for number in EXAMPLE_TICKET_NUMBERS:
        ticket(f"Example {number}", number)
    for role in ROLES:
        made = ticket(f"The {role}'s ticket")
        message = add_message(
            ticket=made,
            by=customer,
            body="<p>Screenshot attached.</p>",
            attachments=[SimpleUploadedFile("shot.png", _PNG, content_type="image/png")],
        )
        world.tickets[role] = made
        world.attachment_ids[role] = message.attachments.get().pk

    world.article_id = make_article(by=lead, title="Export your data", tags=["export"]).pk

    # Insurance: a reviewer (not a fuzzed role: the examples of the review actions are theirs),
    # the customer's document under review, and an approved one with its reminders.
    reviewer = UserFactory(roles=[Role.REVIEWER], full_name="Rita Reviewer")
    world.users["reviewer"] = reviewer
    world.insurance_document_id = _insurance_document(customer, reviewer).pk
    approved = insurance_services.approve(
        document=_insurance_document(customer, reviewer), by=reviewer
    )
    world.insurance_reminder_id = approved.reminders.order_by("due_at").first().pk
    component = _with_id(_component, EXAMPLE_COMPONENT_ID, name="API", group="Platform")
    world.component_id = component.pk
    world.incident_id = incident_services.create_incident(
        by=lead,
        title="Exports fail",
        severity="high",
        category=IncidentCategory.APPLICATION,
        impact="minor",
        components={component: "partial_outage"},
    ).pk
    world.maintenance_id = incident_services.schedule_maintenance(
        by=lead,
        title="Database upgrade",
        starts_at=timezone.now() + dt.timedelta(days=1),
        ends_at=timezone.now() + dt.timedelta(days=1, hours=1),
        components=[component],
    ).pk

    # Bookings: a technician (not a fuzzed role: request-completion's example is theirs) and the
    # customer's booking, done and waiting for the customer's answer.
    technician = UserFactory(roles=[Role.TECHNICIAN], full_name="Ted Technician")
    world.users["technician"] = technician
    booking = booking_services.create_booking(
        by=lead,
        customer=customer,
        technician=technician,
        service="Boiler service",
        location="12 Elm Street",
        scheduled_at=timezone.now(),
    )
    booking = booking_services.start(booking=booking, by=technician)
    world.booking_id = booking_services.request_completion(booking=booking, by=technician).pk

    # Rules (support leads) and a webhook subscription (admins: not a fuzzed role).
    world.trigger_id = rule_services.create_rule(
        by=lead,
        kind="trigger",
        data={
            "name": "Tag outages",
            "events": ["created"],
            "actions": [{"type": "add_tags", "value": ["outage"]}],
        },
    ).pk
    world.automation_id = rule_services.create_rule(
        by=lead,
        kind="automation",
        data={
            "name": "Quiet for a week",
            "anchor": "updated_at",
            "after_minutes": 10080,
            "actions": [{"type": "add_tags", "value": ["quiet"]}],
        },
    ).pk
    admin = UserFactory(roles=[Role.ADMIN], full_name="Ada Admin")
    world.users["admin"] = admin
    world.webhook_id = webhook_services.create_subscription(
        by=admin,
        data={"name": "CRM", "url": "https://93.184.216.34/hooks", "events": ["ticket.created"]},
    ).pk

    # Live chat: a widget the team answers, its agents online, and a chat per fuzzed role (the
    # customer's own, signed in).
    widget = ChatWidget.objects.create(name="Shop", public_key=EXAMPLE_CHAT_WIDGET, team=team)
    AgentProfile.objects.filter(user__in=[agent, lead]).update(
        max_concurrent_chats=50, last_seen_at=timezone.now()
    )
    for role in ROLES:
        session, _ = chat_services.start_session(
            widget=widget,
            customer=customer if role == "customer" else None,
            visitor_email=f"{role}-visitor@example.com",
        )
        world.chat_sessions[role] = str(session.public_id)

    for role, user in world.users.items():
        _, key = create_token(user=user, name="fuzz")
        world.tokens[role] = key
        spare, _ = create_token(user=user, name="spare")
        world.spare_tokens[role] = spare.pk
    return world


_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81"
    b"\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)
_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
