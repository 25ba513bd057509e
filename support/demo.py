"""Demo data for support: catalogue, teams, SLA defaults, and a few hundred lived-in tickets.

Tickets are made through the services with the clock set back, so their events, SLA due times
and conversations are exactly what real use would have produced. Demo customers are not
e-mailed: the outbox rows the seeding writes are marked as delivered to the demo.
"""

import contextlib
import datetime as dt
import random
from unittest import mock

from django.utils import timezone
from django.utils.text import slugify

from core.models import OutboxMessage, User
from core.models.notifications import OutboxStatus
from core.models.users import CustomerTier

from .assist.demo_text import learnable_text
from .models import (
    AgentProfile,
    Category,
    EscalationLevel,
    EscalationPolicy,
    ResponseTemplate,
    SLAPolicy,
    Team,
    Ticket,
)
from .models.choices import AssignmentStrategy, Channel, Priority, Status, TemplateChannel

CATEGORIES = [
    "Technical",
    "Billing",
    "Account",
    "Data",
    "Integration",
    "Performance",
    "Security",
    "Feature request",
    "Bug report",
    "Booking",
    "Payment",
    "Complaint",
    "General",
]

# priority: (first response minutes, resolution minutes), DESIGN §4 defaults.
SLA_DEFAULTS = {
    Priority.URGENT: (15, 240),
    Priority.HIGH: (60, 480),
    Priority.MEDIUM: (240, 1440),
    Priority.LOW: (1440, 4320),
}

TEMPLATES = [
    (
        "Greeting and next steps",
        TemplateChannel.EMAIL,
        "About {{ ticket.number }}",
        "Hello {{ customer.name }},\n\nThanks for writing in about {{ ticket.subject }}. "
        "I'm looking into it now and will get back to you shortly.\n\n{{ agent.name }}",
    ),
    (
        "Need more information",
        TemplateChannel.EMAIL,
        "More details for {{ ticket.number }}",
        "Hello {{ customer.name }},\n\nCould you send us the exact error message and the time "
        "it happened? A screenshot helps too.\n\n{{ agent.name }}",
    ),
    (
        "Escalated to engineering",
        TemplateChannel.NOTE,
        "",
        "Escalated {{ ticket.number }} to engineering; waiting for their analysis.",
    ),
    (
        "Resolved, please confirm",
        TemplateChannel.SMS,
        "",
        "{{ ticket.number }} is resolved. Reply to the e-mail if anything is still wrong.",
    ),
]

SUBJECTS = {
    "technical": [
        "App crashes on start",
        "Cannot upload files larger than 5 MB",
        "Dashboard shows a blank page",
        "Export to CSV never finishes",
    ],
    "billing": [
        "Charged twice this month",
        "Need an invoice with our VAT number",
        "Question about the annual plan",
    ],
    "account": ["Cannot reset my password", "Please add a second admin", "Change account owner"],
    "data": ["Missing records after import", "Duplicate contacts after sync"],
    "integration": ["Webhook deliveries failing with 401", "Salesforce sync stopped"],
    "performance": ["Search is very slow since Monday", "Reports time out"],
    "security": ["Suspicious login alert", "Request for our SOC 2 report"],
    "feature-request": ["Dark mode, please", "Bulk edit for tags"],
    "bug-report": ["Date picker shows the wrong month", "Typo on the pricing page"],
    "booking": ["Technician did not show up", "Reschedule my appointment"],
    "payment": ["Card declined but money taken", "Refund not received"],
    "complaint": ["Unhappy with the response time"],
    "general": ["Where can I find the API docs?", "Do you offer training?"],
}

CUSTOMER_LINES = [
    "Hi, this started this morning and blocks our whole team.",
    "Any news on this? We still see the problem.",
    "Here is the error: <code>HTTP 500 at /api/export</code>. It happens every time.",
    "Thanks, that worked!",
    "I tried that, but it still fails in Firefox.",
]
AGENT_LINES = [
    "Thanks for the details. I can reproduce it and I'm on it.",
    "Could you tell us which browser and version you use?",
    "We deployed a fix a few minutes ago. Could you try again?",
    "I've credited the duplicate charge; it shows on your statement in 3–5 days.",
]
NOTE_LINES = [
    "Looks like the same root cause as last week's incident.",
    "Checked the logs: the customer's token expired on the 12th.",
    "Asked engineering in #support-escalations.",
]


@contextlib.contextmanager
def clock_at(moment: dt.datetime):
    """Run services as if it were `moment` (never later than now)."""
    moment = min(moment, timezone.now())
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def seed_catalogue() -> None:
    from .models import ChatWidget

    # The help center's chat widget (CHAT_HELP_CENTER_WIDGET); any staff member answers it, after
    # the assistant, which answers first from the demo's public articles.
    ChatWidget.objects.get_or_create(
        public_key="help-center", defaults={"name": "Help center chat", "bot_enabled": True}
    )
    categories = {}
    for name in CATEGORIES:
        categories[slugify(name)], _ = Category.objects.get_or_create(
            slug=slugify(name), defaults={"name": name}
        )
    for priority, (response, resolution) in SLA_DEFAULTS.items():
        SLAPolicy.objects.get_or_create(
            priority=priority,
            customer_tier="",
            is_active=True,
            defaults={
                "name": f"{Priority(priority).label} (default)",
                "first_response_minutes": response,
                "resolution_minutes": resolution,
            },
        )
    SLAPolicy.objects.get_or_create(
        priority=Priority.URGENT,
        customer_tier=CustomerTier.ENTERPRISE,
        is_active=True,
        defaults={
            "name": "Enterprise urgent",
            "first_response_minutes": 10,
            "resolution_minutes": 120,
        },
    )
    policy, created = EscalationPolicy.objects.get_or_create(name="Standard escalation")
    if created:
        lead = User.objects.filter(email="lead@example.com").first()
        first = EscalationLevel.objects.create(
            policy=policy, level=1, trigger="breach", delay_minutes=0, notify_slack=True
        )
        if lead:
            first.notify_users.add(lead)
        EscalationLevel.objects.create(
            policy=policy, level=2, trigger="breach", delay_minutes=120, raise_priority=True
        )
    SLAPolicy.objects.filter(priority__in=[Priority.URGENT, Priority.HIGH]).update(
        escalation_policy=policy
    )
    teams = [
        (
            "First line",
            "first-line",
            AssignmentStrategy.ROUND_ROBIN,
            ["alice@example.com", "bob@example.com"],
            ["billing", "account", "booking", "payment", "general", "complaint"],
        ),
        (
            "Technical",
            "technical",
            AssignmentStrategy.SKILL_BASED,
            ["carol@example.com", "dave@example.com"],
            [
                "technical",
                "data",
                "integration",
                "performance",
                "security",
                "bug-report",
                "feature-request",
            ],
        ),
    ]
    for name, slug, strategy, members, handled in teams:
        team, _ = Team.objects.get_or_create(
            slug=slug, defaults={"name": name, "strategy": strategy}
        )
        team.members.add(*User.objects.filter(email__in=members))
        team.categories.add(*(categories[c] for c in handled))
    for user in User.objects.filter(groups__name__in=["agent", "support_lead"]):
        AgentProfile.objects.get_or_create(user=user)
    carol = AgentProfile.objects.filter(user__email="carol@example.com").first()
    if carol:
        carol.skills.add(categories["integration"], categories["data"], categories["security"])
    dave = AgentProfile.objects.filter(user__email="dave@example.com").first()
    if dave:
        dave.skills.add(
            categories["technical"], categories["performance"], categories["bug-report"]
        )
    lead = User.objects.filter(email="lead@example.com").first()
    for name, channel, subject, body in TEMPLATES:
        ResponseTemplate.objects.get_or_create(
            name=name,
            defaults={"channel": channel, "subject": subject, "body": body, "created_by": lead},
        )


DEMO_TICKETS = 300
# How the demo tickets end up: (status, share). A queue a team can hold: about 70 active
# tickets, some 54 of them with four agents of capacity 20, so automatic assignment has room.
OUTCOMES = [
    (Status.OPEN, 0.06),
    (Status.ASSIGNED, 0.04),
    (Status.IN_PROGRESS, 0.07),
    (Status.WAITING_ON_CUSTOMER, 0.05),
    (Status.WAITING_ON_INTERNAL, 0.02),
    (Status.RESOLVED, 0.18),
    (Status.CLOSED, 0.50),
    (Status.CANCELLED, 0.08),
]
ACTIVE_OUTCOMES = {Status.OPEN, Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING_ON_INTERNAL}
# Where an active ticket stands against the clock that runs: (bucket, share, fraction range of
# the target used). Most are on track, a few at risk, a few breached: a story, not a wall of
# breach alerts in the first minute of `make run`.
CLOCK_BUCKETS = [
    ("on_track", 0.80, (0.05, 0.6)),
    ("at_risk", 0.12, (0.82, 0.95)),
    ("late", 0.08, (1.1, 1.6)),
]


def _active_age_minutes(rng, status, priority) -> tuple[float, str]:
    """How long ago an active demo ticket was filed, from its SLA targets and a bucket."""
    response, resolution = SLA_DEFAULTS[priority]
    bucket, _, (low, high) = rng.choices(CLOCK_BUCKETS, weights=[b[1] for b in CLOCK_BUCKETS])[0]
    if status == Status.OPEN:
        return response * rng.uniform(low, high), bucket  # not answered yet
    if status == Status.ASSIGNED:
        # Not answered yet, but assigned (up to 0.3 of the target after filing).
        return max(response * rng.uniform(low, high), response * 0.32), bucket
    # Answered within the response target (late only in the late bucket), then working on it:
    # old enough for the answer and the events that follow it.
    answered = response * 1.6
    return max(resolution * rng.uniform(low, high), answered + 30), bucket


def seed_tickets() -> None:
    if Ticket.objects.filter(customer__email__endswith=".example").exists():
        return  # already seeded
    from . import services

    rng = random.Random(2026)
    customers = list(User.objects.filter(groups__name="customer").order_by("pk"))
    agents = list(User.objects.filter(groups__name="agent").order_by("pk"))
    categories = {c.slug: c for c in Category.objects.all()}
    started = timezone.now()
    now = timezone.now()
    statuses = [status for status, share in OUTCOMES for _ in range(round(share * DEMO_TICKETS))]
    for index, final_status in enumerate(statuses):
        customer = customers[index % len(customers)]
        slug = rng.choice(list(SUBJECTS))
        # Active tickets are placed against their SLA targets (live clocks); waiting and
        # finished ones are spread over six weeks.
        priority = rng.choices(list(Priority), weights=[1, 3, 5, 3])[0]
        bucket = "history"
        if final_status in ACTIVE_OUTCOMES:
            age_minutes, bucket = _active_age_minutes(rng, final_status, priority)
        elif final_status == Status.WAITING_ON_CUSTOMER:
            # Answered in time, then waiting (the clocks are paused): old enough for both.
            bucket = "waiting"
            response = SLA_DEFAULTS[priority][0]
            age_minutes = max(rng.uniform(3, 30) * 60, response * 1.6 + 30)
        else:
            age_minutes = rng.uniform(8, 24 * 42) * 60
        at = now - dt.timedelta(minutes=age_minutes)
        subject, line = rng.choice(SUBJECTS[slug]), rng.choice(CUSTOMER_LINES)
        # Text a classifier can learn, from its own random stream (issue 18, support/assist).
        other_subject, learnable = learnable_text(random.Random(index), slug, priority)
        with clock_at(at):
            ticket = services.create_ticket(
                by=customer,
                subject=other_subject or subject,
                description=f"<p>{line} {learnable}</p>",
                category=categories.get(slug),
                priority=priority,
                channel=rng.choice([Channel.WEB, Channel.EMAIL, Channel.EMAIL, Channel.API]),
                created_at=at,
            )
        if final_status == Status.OPEN:
            continue
        ticket.refresh_from_db()
        # Most answers come well within the targets; about one in eight is late.
        response_budget, resolution_budget = SLA_DEFAULTS[priority]
        at += dt.timedelta(minutes=response_budget * rng.uniform(0.05, 0.3))
        agent = ticket.assigned_to or rng.choice(agents)
        with clock_at(at):
            if ticket.assigned_to_id is None:
                services.assign_ticket(ticket=ticket, agent=agent, by=agent)
        if final_status == Status.ASSIGNED:
            continue
        if final_status == Status.CANCELLED:
            with clock_at(at + dt.timedelta(minutes=30)):
                services.cancel_ticket(ticket=ticket, by=customer, note="No longer needed.")
            continue
        # History has its late answers (one in seven); an active ticket answers late only in
        # the late bucket.
        late = [1.2] if bucket in ("history", "late") else []
        at += dt.timedelta(
            minutes=response_budget * rng.choice([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, *late])
        )
        with clock_at(at):
            services.add_message(ticket=ticket, by=agent, body=f"<p>{rng.choice(AGENT_LINES)}</p>")
            if rng.random() < 0.5:
                services.add_message(
                    ticket=ticket, by=agent, body=rng.choice(NOTE_LINES), internal=True
                )
            services.change_status(ticket=ticket, to=Status.IN_PROGRESS, by=agent)
        if final_status == Status.IN_PROGRESS:
            continue
        if final_status == Status.WAITING_ON_INTERNAL:
            with clock_at(at + dt.timedelta(minutes=20)):
                services.change_status(ticket=ticket, to=Status.WAITING_ON_INTERNAL, by=agent)
            continue
        with clock_at(at + dt.timedelta(minutes=20)):
            services.wait_on_customer(ticket=ticket, by=agent)
        if final_status == Status.WAITING_ON_CUSTOMER:
            continue
        at += dt.timedelta(hours=rng.uniform(1, 20))
        with clock_at(at):
            services.add_message(ticket=ticket, by=customer, body=rng.choice(CUSTOMER_LINES))
        at += dt.timedelta(minutes=resolution_budget * rng.choice([0.1, 0.2, 0.3, 0.4, 1.1]))
        with clock_at(at):
            services.resolve_ticket(ticket=ticket, by=agent)
        if rng.random() < 0.6:
            with clock_at(at + dt.timedelta(hours=2)):
                services.rate_ticket(
                    ticket=ticket,
                    by=customer,
                    rating=rng.choices([5, 4, 3, 2, 1], weights=[6, 3, 1, 1, 1])[0],
                    comment=rng.choice(["", "Quick and friendly.", "Took a while, but fixed."]),
                )
        if final_status == Status.CLOSED:
            with clock_at(at + dt.timedelta(days=1)):
                services.close_ticket(ticket=ticket, by=customer)
    # The demo customers and agents are not real: don't e-mail them what seeding did.
    OutboxMessage.objects.filter(created_at__gte=started, status=OutboxStatus.PENDING).exclude(
        channel="in_app"
    ).update(status=OutboxStatus.SENT, last_error="demo data: not sent")
