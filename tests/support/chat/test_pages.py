"""Chat's pages: the widget script, its frame, the agent console, the help center's widget."""

import pytest

from support.chat import services
from support.models import AgentProfile
from support.models.choices import AgentStatus

from .factories import ChatWidgetFactory, chat_world, start

pytestmark = pytest.mark.django_db


def test_widget_js_is_served_small_and_without_a_framework(client):
    response = client.get("/chat/widget.js")
    assert response.status_code == 302 and response["Location"].endswith("chat/widget.js")
    from pathlib import Path

    from django.conf import settings

    script = (Path(settings.BASE_DIR) / "static/chat/widget.js").read_text()
    assert len(script.encode()) < 5000
    assert "/chat/frame/" in script


def test_the_frame_may_be_framed_only_by_the_widgets_origins(client):
    widget = ChatWidgetFactory(allowed_origins=["https://shop.example"])
    response = client.get(f"/chat/frame/{widget.public_key}/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://shop.example" in policy
    assert "X-Frame-Options" not in response
    assert f'data-widget="{widget.public_key}"' in response.content.decode()
    assert client.get("/chat/frame/nope/").status_code == 404


def test_the_console_lists_the_queue_and_my_chats_for_staff_only(client, customer):
    widget, [agent] = chat_world(max_chats=1)
    mine, _ = start(widget, name="Mia Mine")
    start(widget, email="w@example.com", name="Walt Waiting")
    client.force_login(agent)
    page = client.get("/desk/chats/").content.decode()
    assert "Walt Waiting" in page and "Mia Mine" in page
    assert 'id="chat-whisper"' in page and "chat/console.js" in page
    panel = client.get(f"/desk/chats/{mine.public_id}/customer/")
    assert panel.status_code == 200 and "visitor@example.com" in panel.content.decode()
    client.force_login(customer)
    assert client.get("/desk/chats/").status_code == 403
    assert client.get(f"/desk/chats/{mine.public_id}/customer/").status_code == 403


def test_the_help_center_carries_the_widget_when_it_exists(client, settings):
    settings.CHAT_HELP_CENTER_WIDGET = "help-center"
    assert b"chat/widget.js" not in client.get("/help/").content
    ChatWidgetFactory(public_key="help-center")
    assert b'data-widget="help-center"' in client.get("/help/").content


def test_session_state_names_the_visitor_and_the_queue_place():
    widget, _ = chat_world(max_chats=1)
    start(widget)
    waiting, _ = start(widget, email="w@example.com", name="Walt")
    event = services.session_event(waiting)
    assert (event["visitor"], event["status"], event["queue_position"]) == ("Walt", "queued", 1)


def test_the_dashboard_shows_the_chats_time_to_accept_and_first_reply(client):
    import datetime as dt

    from django.utils import timezone

    from support.models import ChatSession

    widget, [agent] = chat_world(max_chats=1)
    session, _ = start(widget)
    start(widget, email="w@example.com")  # waiting
    begun = timezone.now() - dt.timedelta(seconds=40)
    ChatSession.objects.filter(pk=session.pk).update(
        started_at=begun,
        accepted_at=begun + dt.timedelta(seconds=10),
        first_agent_reply_at=begun + dt.timedelta(seconds=30),
    )
    today = services_sla()["periods"][0]
    assert (today["started"], today["accepted"]) == (2, 1)
    assert (today["to_accept_s"], today["to_reply_s"]) == (10, 30)
    client.force_login(agent)
    page = client.get("/desk/dashboard/").content.decode()
    assert "1 waiting" in page and "mean 10 s" in page and "mean 30 s" in page


def services_sla():
    from support.chat.selectors import chat_sla

    return chat_sla()


def test_the_console_shows_each_agents_availability(client):
    widget, [agent, other] = chat_world(agents=2)
    AgentProfile.objects.filter(user=other).update(status=AgentStatus.AWAY, chat_enabled=False)
    client.force_login(agent)
    page = client.get("/desk/chats/").content.decode()
    assert f'data-agent="{other.pk}"' in page
    row = page.split(f'data-agent="{other.pk}"', 1)[1].split("</li>", 1)[0]
    assert "Away · no chats" in row
