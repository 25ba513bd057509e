import factory
from django.utils import timezone

from core.roles import Role
from support.chat import services
from support.models import AgentProfile, ChatWidget
from support.models.choices import AgentStatus
from tests.factories import UserFactory
from tests.support.factories import TeamFactory


class ChatWidgetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChatWidget

    name = factory.Sequence(lambda n: f"Widget {n}")
    allowed_origins = ["https://shop.example"]
    max_queue = 100


def online_agent(*, team=None, max_chats=2, **fields):
    """A staff member in `team`, available, chat enabled, seen just now."""
    user = UserFactory(roles=[Role.AGENT], **fields)
    AgentProfile.objects.update_or_create(
        user=user,
        defaults={
            "status": AgentStatus.AVAILABLE,
            "chat_enabled": True,
            "max_concurrent_chats": max_chats,
            "last_seen_at": timezone.now(),
        },
    )
    if team is not None:
        team.members.add(user)
    return user


def chat_world(*, agents=1, max_chats=2):
    """A widget whose team has `agents` online agents; returns (widget, [agents])."""
    team = TeamFactory()
    widget = ChatWidgetFactory(team=team)
    users = [online_agent(team=team, max_chats=max_chats) for _ in range(agents)]
    return widget, users


def start(widget, *, email="visitor@example.com", name="Vic Visitor", **kwargs):
    return services.start_session(widget=widget, visitor_email=email, visitor_name=name, **kwargs)
