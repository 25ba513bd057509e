"""The client's address: X-Forwarded-For believed only as far as our trusted proxies go."""

import json

import pytest
from django.test import RequestFactory, override_settings
from rest_framework.request import Request
from rest_framework.settings import api_settings

from core.api.throttling import AnonRateThrottle
from core.clients import client_address
from tests.core.test_settings import run_python


def request_from(remote="203.0.113.9", forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (0, None, "203.0.113.9"),
        (0, "198.51.100.7", "203.0.113.9"),  # nobody vouches for the header: ignored
        (1, None, "203.0.113.9"),
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the client's own entries are skipped
        (2, "6.6.6.6, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (2, "198.51.100.7", "203.0.113.9"),  # fewer hops than proxies: not through them all
        (1, "not-an-address", "203.0.113.9"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_the_address_is_the_entry_the_trusted_proxies_wrote(trusted, forwarded, expected):
    with override_settings(TRUSTED_PROXY_COUNT=trusted):
        assert client_address(request_from(forwarded=forwarded)) == expected


@pytest.mark.parametrize("trusted", [0, 1, 2])
def test_drf_throttles_see_the_same_address(trusted):
    with override_settings(TRUSTED_PROXY_COUNT=trusted):
        for forwarded in (None, "6.6.6.6", "6.6.6.6, 198.51.100.7", "1.1.1.1, 2.2.2.2, 3.3.3.3"):
            request = request_from(forwarded=forwarded)
            assert AnonRateThrottle().get_ident(Request(request)) == client_address(request)


def test_drf_is_configured_with_our_throttles_and_proxy_count(settings):
    classes = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]
    assert all(path.startswith("core.api.throttling.") for path in classes)
    assert api_settings.NUM_PROXIES == settings.TRUSTED_PROXY_COUNT
    assert settings.RATELIMIT_IP_META_KEY == "core.clients.client_address"


PROXY_PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "trusted": settings.TRUSTED_PROXY_COUNT,
    "proto_header": getattr(settings, "SECURE_PROXY_SSL_HEADER", None),
    "num_proxies": settings.REST_FRAMEWORK["NUM_PROXIES"],
}))
"""

PRODUCTION = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/supportdesk_settings_probe",
    "SECRET_KEY": "k" * 60,
    "ALLOWED_HOSTS": "support.example.com",
}


def proxy_settings(env, tmp_path):
    result = run_python(["-c", PROXY_PROBE], env, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_trusts_no_forwarded_header_by_default(tmp_path):
    seen = proxy_settings(PRODUCTION, tmp_path)
    assert seen == {"trusted": 0, "proto_header": None, "num_proxies": 0}


def test_a_trusted_proxy_turns_on_forwarded_proto(tmp_path):
    seen = proxy_settings({**PRODUCTION, "TRUSTED_PROXY_COUNT": "2"}, tmp_path)
    assert seen == {
        "trusted": 2,
        "proto_header": ["HTTP_X_FORWARDED_PROTO", "https"],
        "num_proxies": 2,
    }
    # The former switch still means one proxy.
    assert proxy_settings({**PRODUCTION, "DJANGO_BEHIND_PROXY": "true"}, tmp_path)["trusted"] == 1


def test_a_negative_proxy_count_is_refused(tmp_path):
    result = run_python(["-c", PROXY_PROBE], {**PRODUCTION, "TRUSTED_PROXY_COUNT": "-1"}, tmp_path)
    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT must be 0 or more" in result.stderr


@pytest.mark.django_db
def test_forwarded_proto_is_ignored_without_a_trusted_proxy(client, settings):
    # Test settings: no proxy trusted, so a client claiming https is still on http.
    assert settings.TRUSTED_PROXY_COUNT == 0
    assert getattr(settings, "SECURE_PROXY_SSL_HEADER", None) is None
    request = RequestFactory().get("/", HTTP_X_FORWARDED_PROTO="https")
    assert request.is_secure() is False
