"""Every redirect target a request names stays on this site (`core.redirects.safe_next`)."""

from urllib.parse import urlencode

import pytest
from django.test import RequestFactory

from core.models import Notification
from core.redirects import safe_next
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_sign_in_limit(settings):
    # Every case signs in from the same address; the sign-in limits are tested elsewhere.
    settings.SIGN_IN_LIMIT_PER_ACCOUNT = settings.SIGN_IN_LIMIT_PER_ADDRESS = "10000/m"


PASSWORD = "pw-for-tests-1"
OFF_SITE = [
    "https://evil.example/",
    "//evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " https://evil.example/",
    "https:evil.example",
    "http://testserver.evil.example/",
    "data:text/html,<script>alert(1)</script>",
]
ON_SITE = ["/desk/", "/help/tickets/TKT-1/?page=2", "http://testserver/help/"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_safe_next_refuses_anything_off_site(target):
    request = RequestFactory().get("/")
    assert safe_next(request, target, "/fallback/") == "/fallback/"


@pytest.mark.parametrize("target", ON_SITE)
def test_safe_next_keeps_this_sites_urls(target):
    request = RequestFactory().get("/")
    assert safe_next(request, target, "/fallback/") == target


def test_safe_next_wants_https_when_the_request_was_https():
    request = RequestFactory().get("/", secure=True)
    assert safe_next(request, "http://testserver/help/", "/f/") == "/f/"
    assert safe_next(request, "https://testserver/help/", "/f/") == "https://testserver/help/"
    assert safe_next(request, None, "/f/") == "/f/"
    assert safe_next(request, ["/x/"], "/f/") == "/f/"


def _stays_here(response) -> bool:
    location = response["Location"]
    return location.startswith("/") and not location.startswith(("//", "/\\"))


@pytest.mark.parametrize("target", OFF_SITE)
def test_marking_notifications_read_never_redirects_off_site(client, agent, target):
    Notification.objects.create(recipient=agent, title="One")
    client.force_login(agent)
    response = client.post("/notifications/read/", {"next": target})
    assert response.status_code == 302
    assert response["Location"] == "/notifications/"


def test_marking_notifications_read_returns_to_the_page_it_came_from(client, agent):
    client.force_login(agent)
    response = client.post("/notifications/read/", {"next": "/desk/?view=mine"})
    assert response["Location"] == "/desk/?view=mine"


@pytest.mark.parametrize("in_query", [False, True])
@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_never_redirects_off_site(client, target, in_query):
    user = UserFactory(roles=["customer"])  # the factory's password is PASSWORD
    form = {"username": user.email, "password": PASSWORD}
    if in_query:
        response = client.post(f"/accounts/login/?{urlencode({'next': target})}", form)
    else:
        response = client.post("/accounts/login/", {**form, "next": target})
    assert response.status_code == 302
    assert _stays_here(response), response["Location"]
    assert "evil" not in response["Location"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_out_never_redirects_off_site(client, customer, target):
    client.force_login(customer)
    response = client.post("/accounts/logout/", {"next": target})
    assert response.status_code == 302
    assert _stays_here(response), response["Location"]
    assert "evil" not in response["Location"]
