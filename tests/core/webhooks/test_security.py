"""The URL check refuses loopback, private, link-local and metadata targets, also after DNS."""

import socket

import pytest

from core.errors import DomainError
from core.webhooks import services
from core.webhooks.security import UnsafeURL, resolve

pytestmark = pytest.mark.django_db

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.8.9.10:8080/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://localhost/hook",
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "http://192.168.1.1/hook",
    "http://[fd00::1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hook",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://metadata.google.internal/computeMetadata/v1/",
    "ftp://example.com/hook",
    "http://user:pw@93.184.216.34/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_internal_targets_are_refused(url, settings):
    assert settings.WEBHOOK_ALLOW_LOOPBACK is False
    with pytest.raises(UnsafeURL):
        resolve(url)


@pytest.mark.parametrize("url", ["http://10.0.0.5/hook", "http://169.254.169.254/"])
def test_allowing_loopback_never_allows_private_or_metadata(url, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    with pytest.raises(UnsafeURL):
        resolve(url)


def test_a_public_name_resolving_to_a_private_address_is_refused(monkeypatch, admin_user):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(DomainError) as refused:
        services.create_subscription(
            by=admin_user,
            data={"name": "CRM", "url": "https://crm.example.com/h", "events": ["ticket.created"]},
        )
    assert refused.value.code == "unsafe_url"
    assert "private address" in refused.value.errors["url"][0]


def test_a_public_address_is_accepted_and_pinned(monkeypatch):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    target = resolve("https://crm.example.com/in?x=1")
    assert (target.address, target.port, target.path, target.host) == (
        "93.184.216.34",
        443,
        "/in?x=1",
        "crm.example.com",
    )


def test_only_admins_manage_subscriptions(lead):
    from core.errors import NotAllowed

    with pytest.raises(NotAllowed):
        services.create_subscription(
            by=lead,
            data={"name": "x", "url": "https://93.184.216.34/", "events": ["ticket.created"]},
        )
