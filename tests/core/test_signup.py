"""Signing up on the help center: the account opens only from the e-mailed confirmation, once,
and the answer never tells whether an address already has an account."""

import re

import pytest

from core.models import OutboxMessage, User
from support.models import Ticket
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]

CONFIRM = re.compile(r"http://[^/\s]+(/accounts/signup/confirm/[^/\s]+/)")
PASSWORD = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def no_typing_delay(settings):
    settings.BOT_TRAP_MIN_SECONDS = 0


def _sign_up(client, email="new@example.org", **fields):
    page = client.get("/accounts/signup/").content.decode()
    started = re.search(r'name="form_started" value="([^"]+)"', page).group(1)
    data = {
        "full_name": "Nina New",
        "email": email,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "form_started": started,
        **fields,
    }
    return client.post("/accounts/signup/", data)


def _confirmation_path(email) -> str:
    mail = OutboxMessage.objects.filter(recipient=email).order_by("-pk").first()
    return CONFIRM.search(mail.body).group(1)


def test_sign_up_confirm_and_sign_in(client):
    response = _sign_up(client)
    assert response.url == "/accounts/signup/sent/"
    user = User.objects.get(email="new@example.org")
    assert (user.is_active, user.signup_pending) == (False, True)
    assert not client.login(username="new@example.org", password=PASSWORD)
    path = _confirmation_path("new@example.org")
    assert client.get(path).status_code == 200  # a scanner's GET confirms nothing
    assert not User.objects.get(pk=user.pk).is_active
    confirmed = client.post(path)
    assert confirmed.status_code == 302
    user.refresh_from_db()
    assert (user.is_active, user.signup_pending) == (True, False)
    assert user.groups.filter(name="customer").exists()
    assert client.get("/help/tickets/").status_code == 200  # signed in
    # Once only.
    client.logout()
    assert client.post(path).status_code == 410


def test_confirming_adopts_the_requests_filed_from_that_address(client):
    from support import services

    ticket = services.create_ticket(
        by=None, subject="Filed before signing up", customer_email="new@example.org"
    )
    _sign_up(client)
    client.post(_confirmation_path("new@example.org"))
    ticket.refresh_from_db()
    assert ticket.customer.email == "new@example.org"
    assert "Filed before signing up" in client.get("/help/tickets/").content.decode()


def test_an_existing_address_gets_a_notice_and_the_same_answer(client):
    existing = UserFactory(roles=["customer"], email="taken@example.org")
    response = _sign_up(client, email="Taken@Example.org")
    assert response.url == "/accounts/signup/sent/"
    notice = OutboxMessage.objects.get(recipient="taken@example.org")
    assert "already have an account" in notice.body
    assert "/accounts/signup/confirm/" not in notice.body
    existing.refresh_from_db()
    assert existing.check_password("pw-for-tests-1") or existing.has_usable_password()
    assert User.objects.filter(email__iexact="taken@example.org").count() == 1


def test_a_deactivated_account_is_not_reopened_by_signing_up_again(client):
    UserFactory(roles=["customer"], email="gone@example.org", is_active=False)
    _sign_up(client, email="gone@example.org")
    assert not OutboxMessage.objects.filter(recipient="gone@example.org").exists()
    assert not User.objects.get(email="gone@example.org").is_active


def test_weak_or_mismatched_passwords_are_refused(client):
    page = _sign_up(client, password1="short", password2="short").content.decode()
    assert "too short" in page or "too common" in page
    page = _sign_up(client, password2="something-else-123").content.decode()
    assert "The two passwords differ." in page
    assert not User.objects.filter(email="new@example.org").exists()


def test_a_tampered_confirmation_opens_nothing(client):
    _sign_up(client)
    path = _confirmation_path("new@example.org")
    assert client.post(path[:-3] + "zz/").status_code == 410
    assert not User.objects.get(email="new@example.org").is_active


def test_sign_up_is_rate_limited(client, settings):
    settings.SIGN_UP_LIMIT_PER_ACCOUNT = "1/h"
    assert _sign_up(client).status_code == 302
    assert _sign_up(client).status_code == 429
    assert OutboxMessage.objects.filter(recipient="new@example.org").count() == 1
    assert Ticket.objects.count() == 0
