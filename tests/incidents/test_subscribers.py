"""Status subscribers: double opt-in, their components, one-click unsubscribe, public only."""

import re
import time
from unittest import mock

import pytest
from django.core import signing
from django.utils import timezone

from core.crypto import keyed_hash
from core.models import OutboxMessage
from incidents import services
from incidents.models import Status, StatusSubscriber
from incidents.subscribers import CONFIRM_SALT, subscribe

from .factories import make_component, make_incident

pytestmark = pytest.mark.django_db
SECRET = "db-2 pool exhausted"


def link(message, name):
    return re.search(rf"http://[^\s]+/status/{name}/[^\s]+/", message.body).group(0)


def path(url):
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def confirm_link():
    return path(link(OutboxMessage.objects.get(subject="Confirm your status updates"),
                     "subscribe/confirm"))  # fmt: skip


def test_double_opt_in(client, fresh_rate_limits):
    response = client.post("/status/subscribe/", {"email": "Ana@Example.com"})
    assert response.status_code == 200
    subscriber = StatusSubscriber.objects.get()
    assert (subscriber.email, subscriber.confirmed_at) == ("ana@example.com", None)
    url = confirm_link()
    assert client.get(url).status_code == 200  # a button, nothing confirmed yet
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is None
    assert client.post(url).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is not None


def test_forged_expired_and_reused_tokens_are_refused(client, fresh_rate_limits):
    client.post("/status/subscribe/", {"email": "ana@example.com"})
    url = confirm_link()
    token = url.rstrip("/").rsplit("/", 1)[1]
    forged = signing.dumps({"s": StatusSubscriber.objects.get().pk, "n": "x"}, salt=CONFIRM_SALT)
    assert client.post(f"/status/subscribe/confirm/{forged}/").status_code == 404
    assert client.post(f"/status/subscribe/confirm/{token[:-2]}xx/").status_code == 404
    # Signed tokens tell their age by `time.time()`: 49 hours on, the link has expired.
    with mock.patch("time.time", return_value=time.time() + 49 * 3600):
        assert client.post(url).status_code == 404
    assert client.post(url).status_code == 200
    subscriber = StatusSubscriber.objects.get()
    unsubscribe = f"/status/unsubscribe/{_unsubscribe_token(subscriber)}/"
    assert client.post(unsubscribe).status_code == 200
    assert not StatusSubscriber.objects.exists()
    assert client.post(unsubscribe).status_code == 404  # reused
    assert client.post(url).status_code == 404  # the old confirmation is dead too
    client.post("/status/subscribe/", {"email": "ana@example.com"})
    assert client.post(url).status_code == 404  # a new subscription has a new nonce


def _unsubscribe_token(subscriber):
    from incidents.subscribers import UNSUBSCRIBE_SALT, _token

    return _token(subscriber, UNSUBSCRIBE_SALT)


def confirmed(email, components=()):
    subscriber = subscribe(email=email, components=components)
    StatusSubscriber.objects.filter(pk=subscriber.pk).update(confirmed_at=timezone.now())
    return subscriber


def test_public_updates_reach_confirmed_subscribers_of_their_components(agent):
    api, web = make_component("API"), make_component("Web")
    everything = confirmed("all@example.com")
    api_only = confirmed("api@example.com", [api])
    confirmed("web@example.com", [web])
    subscribe(email="pending@example.com")
    incident = make_incident(by=agent, title="Exports fail", components={api: "major_outage"})
    services.post_update(incident=incident, by=agent, body="Rolling back.", public=True)
    services.post_update(incident=incident, by=agent, body=SECRET)
    services.change_status(incident=incident, by=agent, to=Status.IDENTIFIED, message=SECRET,
                           public=False)  # fmt: skip
    sent = OutboxMessage.objects.filter(key__startswith="status-update:")
    assert sorted(sent.values_list("recipient", flat=True)) == ["all@example.com",
                                                                "api@example.com"]  # fmt: skip
    for message in sent:
        assert "Rolling back." in message.body and SECRET not in message.body
        assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert {everything.pk, api_only.pk} == set(
        StatusSubscriber.objects.filter(  # addresses are encrypted: found by keyed hash
            email_hash__in=[keyed_hash(r) for r in sent.values_list("recipient", flat=True)]
        ).values_list("pk", flat=True)
    )


def test_one_click_unsubscribe_needs_no_csrf(agent):
    from django.test import Client

    subscriber = confirmed("ana@example.com")
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/status/unsubscribe/{_unsubscribe_token(subscriber)}/",
                           {"List-Unsubscribe": "One-Click"})  # fmt: skip
    assert response.status_code == 200
    assert not StatusSubscriber.objects.exists()


def test_an_internal_incident_mails_nobody(agent):
    confirmed("ana@example.com")
    incident = make_incident(by=agent, is_public=False)
    services.post_update(incident=incident, by=agent, body="Public words", public=True)
    assert not OutboxMessage.objects.filter(key__startswith="status-update:").exists()
