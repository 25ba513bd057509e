"""Webhook subscriptions in the Django admin: admins only, writes checked by the service (an
internal address is refused and nothing changes), "send test", the delivery log, no secret."""

import pytest

from core.models import WebhookDelivery, WebhookSubscription
from core.webhooks import services

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/core/webhooksubscription/"


@pytest.fixture
def subscription(admin_user, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    made = services.create_subscription(
        by=admin_user,
        data={"name": "CRM", "url": "http://127.0.0.1:9/in", "events": ["ticket.created"]},
    )
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    return made


def form(**overrides):
    data = {
        "name": "CRM",
        "url": "https://93.184.215.14/in",
        "events": ["ticket.created", "ticket.rated"],
        "active": "on",
        "deliveries-TOTAL_FORMS": "0",
        "deliveries-INITIAL_FORMS": "0",
    }
    return {**data, **overrides}


def test_an_admin_changes_a_subscription_through_the_service(client, admin_user, subscription):
    client.force_login(admin_user)
    page = client.get(f"{CHANGELIST}{subscription.pk}/change/").content.decode()
    assert subscription.secret not in page
    assert "incident.created" in page  # every registered event is offered

    response = client.post(f"{CHANGELIST}{subscription.pk}/change/", form())

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.url == "https://93.184.215.14/in"
    assert subscription.events == ["ticket.created", "ticket.rated"]


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/hook", "http://[::1]/x"]
)
def test_an_internal_address_is_refused_and_nothing_changes(client, admin_user, subscription, url):
    client.force_login(admin_user)
    response = client.post(f"{CHANGELIST}{subscription.pk}/change/", form(url=url))
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.url == "http://127.0.0.1:9/in"


def test_send_test_queues_a_delivery_shown_in_the_log(client, admin_user, subscription):
    client.force_login(admin_user)
    client.post(CHANGELIST, {"action": "send_test", "_selected_action": [subscription.pk]})
    [delivery] = WebhookDelivery.objects.filter(subscription=subscription)
    assert delivery.event == "webhook.test"
    page = client.get(f"{CHANGELIST}{subscription.pk}/change/").content.decode()
    assert "webhook.test" in page


def test_new_subscriptions_are_made_where_the_secret_is_shown_once(client, admin_user):
    client.force_login(admin_user)
    assert client.get(f"{CHANGELIST}add/").status_code == 403


@pytest.mark.parametrize("role", ["lead", "agent"])
def test_only_admins_see_subscriptions(client, request, role, subscription):
    client.force_login(request.getfixturevalue(role))
    assert client.get(CHANGELIST).status_code == 403
    client.post(f"{CHANGELIST}{subscription.pk}/delete/", {"post": "yes"})
    assert WebhookSubscription.objects.filter(pk=subscription.pk).exists()
