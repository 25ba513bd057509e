"""Chat widgets in the admin: leads set them up, checked values, never deleted."""

import pytest

from support.models import ChatWidget

from .factories import ChatWidgetFactory

pytestmark = pytest.mark.django_db
ADD = "/admin/support/chatwidget/add/"


def form(**fields):
    data = {
        "name": "Shop",
        "allowed_origins": '["https://Shop.example/", "https://shop.example"]',
        "team": "",
        "calendar": "",
        "pre_chat_fields": '["email", "name"]',
        "max_queue": "10",
        "queue_timeout_s": "300",
        "inactivity_minutes": "15",
        "bot_enabled": "on",
        "is_active": "on",
    }
    data.update(fields)
    return data


def test_a_lead_adds_a_widget_with_the_assistant(client, lead):
    client.force_login(lead)
    assert client.get(ADD).status_code == 200
    response = client.post(ADD, form())
    assert response.status_code == 302, response.content.decode()[:3000]
    widget = ChatWidget.objects.get()
    assert widget.allowed_origins == ["https://shop.example"]
    assert widget.pre_chat_fields == ["name", "email"] and widget.bot_enabled
    page = client.get(f"/admin/support/chatwidget/{widget.pk}/change/").content.decode()
    assert f'data-widget="{widget.public_key}"' in page.replace("&quot;", '"')


@pytest.mark.parametrize(
    "field, value",
    [
        ("allowed_origins", '["shop.example"]'),
        ("allowed_origins", '["https://shop.example/checkout"]'),
        ("allowed_origins", '{"a": 1}'),
        ("pre_chat_fields", '["phone"]'),
        ("inactivity_minutes", "0"),
    ],
)
def test_bad_values_are_refused_and_change_nothing(client, lead, field, value):
    client.force_login(lead)
    response = client.post(ADD, form(**{field: value}))
    assert response.status_code == 200 and b"errorlist" in response.content
    assert not ChatWidget.objects.exists()


def test_agents_cannot_change_widgets_and_nobody_deletes_one(client, agent, admin_user):
    widget = ChatWidgetFactory()
    client.force_login(agent)
    assert client.get(f"/admin/support/chatwidget/{widget.pk}/change/").status_code == 403
    client.force_login(admin_user)
    assert client.get(f"/admin/support/chatwidget/{widget.pk}/delete/").status_code == 403
