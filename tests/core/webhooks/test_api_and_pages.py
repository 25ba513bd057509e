"""`/api/v1/webhooks/` and the desk's webhook page: admins only, secret shown once, send test."""

import pytest
from django.urls import reverse

from core.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db
API = "/api/v1/webhooks"


def test_an_admin_subscribes_sees_the_secret_once_and_sends_a_test(api_client, admin_user):
    api_client.force_authenticate(admin_user)
    created = api_client.post(
        f"{API}/",
        {"name": "CRM", "url": "https://93.184.216.34/in", "events": ["ticket.created"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    hook = created.json()
    assert len(hook["secret"]) == 64
    assert api_client.get(f"{API}/{hook['id']}/").json().get("secret") is None

    test = api_client.post(f"{API}/{hook['id']}/test/")
    assert test.status_code == 202 and test.json()["event"] == "webhook.test"
    log = api_client.get(f"{API}/{hook['id']}/deliveries/").json()
    assert log["count"] == 1 and log["results"][0]["status"] == "pending"
    rotated = api_client.patch(
        f"{API}/{hook['id']}/", {"rotate_secret": True}, format="json"
    ).json()
    assert rotated["secret"] not in (None, hook["secret"])
    events = [e["name"] for e in api_client.get(f"{API}/events/").json()]
    assert "ticket.created" in events and "webhook.test" in events


def test_an_internal_url_is_a_400(api_client, admin_user):
    api_client.force_authenticate(admin_user)
    response = api_client.post(
        f"{API}/",
        {"name": "x", "url": "http://169.254.169.254/", "events": ["ticket.created"]},
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "unsafe_url"
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("role", ["lead", "agent", "customer"])
def test_others_are_refused(api_client, client, request, role):
    user = request.getfixturevalue(role)
    api_client.force_authenticate(user)
    assert api_client.get(f"{API}/").status_code == 403
    client.force_login(user)
    assert client.get(reverse("desk-webhooks")).status_code == 403


def test_the_page_subscribes_and_sends_a_test(client, admin_user):
    client.force_login(admin_user)
    page = client.post(
        reverse("desk-webhooks"),
        {"name": "CRM", "url": "https://93.184.216.34/in", "events": ["ticket.created"]},
    )
    hook = WebhookSubscription.objects.get()
    assert hook.secret in page.content.decode()
    client.post(reverse("desk-webhook-action", args=[hook.pk]), {"op": "test"})
    assert WebhookDelivery.objects.get().event == "webhook.test"
    detail = client.get(reverse("desk-webhook", args=[hook.pk])).content.decode()
    assert "webhook.test" in detail and hook.secret not in detail
