import factory

from support.models import AgentProfile, Category, ResponseTemplate, SLAPolicy, Team
from support.models.choices import Priority, TemplateChannel


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.add(*extracted)


class AgentProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentProfile
        django_get_or_create = ("user",)


class SLAPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SLAPolicy

    name = factory.LazyAttribute(lambda o: f"{o.priority} policy")
    priority = Priority.MEDIUM
    first_response_minutes = 240
    resolution_minutes = 1440


# The seeded defaults of DESIGN §4 (first response, resolution), 24/7.
DEFAULT_SLA_TARGETS = {
    Priority.URGENT: (15, 240),
    Priority.HIGH: (60, 480),
    Priority.MEDIUM: (240, 1440),
    Priority.LOW: (1440, 4320),
}


def make_default_sla_policies() -> list[SLAPolicy]:
    return [
        SLAPolicyFactory(
            priority=priority, first_response_minutes=response, resolution_minutes=resolution
        )
        for priority, (response, resolution) in DEFAULT_SLA_TARGETS.items()
    ]


class ResponseTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResponseTemplate

    name = factory.Sequence(lambda n: f"Template {n}")
    channel = TemplateChannel.EMAIL
    subject = "About {{ ticket.number }}"
    body = "Hello {{ customer.name }}, this is {{ agent.name }}."


def make_ticket(*, by, **kwargs):
    """A ticket made the way users make them: through the service, then, as a worker would after
    the commit, through the automatic assignment of its team."""
    from support.services import create_ticket
    from support.tasks import auto_assign_ticket

    kwargs.setdefault("subject", "Export to CSV never finishes")
    kwargs.setdefault("description", "<p>It spins for ever.</p>")
    ticket = create_ticket(by=by, **kwargs)
    if ticket.team_id and ticket.team.strategy != "manual":
        auto_assign_ticket(ticket.pk)
        ticket.refresh_from_db()
    return ticket
