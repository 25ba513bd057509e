import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from core.models import Notification, OutboxMessage
from core.notifications.dispatch import deliver
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_login_with_email_in_any_case(client, agent):
    response = client.post(
        "/accounts/login/", {"username": agent.email.upper(), "password": "pw-for-tests-1"}
    )
    assert response.status_code == 302
    assert client.get("/").url == "/desk/"


def test_wrong_password_shows_an_error(client, agent):
    response = client.post("/accounts/login/", {"username": agent.email, "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_desk_is_for_staff_and_help_center_for_everyone(client, customer, agent):
    assert client.get("/desk/").status_code == 302  # to the login page
    assert client.get("/help/").status_code == 200
    client.force_login(customer)
    assert client.get("/").url == "/help/"
    assert client.get("/desk/").status_code == 403
    client.force_login(agent)
    page = client.get("/desk/")
    assert page.status_code == 200
    assert "Avery Agent" in page.content.decode() or agent.display_name in page.content.decode()


def test_pages_show_times_in_the_viewers_time_zone(client, agent):
    Notification.objects.create(
        recipient=agent,
        title="Ticket assigned",
        created_at=dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC),
    )
    client.force_login(agent)
    response = client.post(
        "/account/preferences/",
        {"full_name": "Avery Agent", "time_zone": "Asia/Tokyo", "language": "en"},
    )
    assert response.status_code == 302
    page = client.get("/notifications/").content.decode()
    assert "21:00" in page and "Asia/Tokyo" in page


def test_preferences_refuse_an_unknown_time_zone(client, agent):
    client.force_login(agent)
    response = client.post(
        "/account/preferences/", {"full_name": "A", "time_zone": "Nowhere/City", "language": "en"}
    )
    assert response.status_code == 200
    agent.refresh_from_db()
    assert agent.time_zone == "UTC"


def test_unread_count_and_mark_read(client, agent, lead):
    Notification.objects.create(recipient=agent, title="One")
    other = Notification.objects.create(recipient=lead, title="Not yours")
    client.force_login(agent)
    assert "Notifications, 1 unread" in client.get("/help/").content.decode()
    client.post("/notifications/read/", {"id": str(other.pk)})
    other.refresh_from_db()
    assert other.read_at is None  # another user's notification is untouched
    client.post("/notifications/read/")
    assert not Notification.objects.filter(recipient=agent, read_at__isnull=True).exists()


def test_password_reset_mail_goes_through_the_outbox(
    client, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/accounts/password-reset/", {"email": customer.email})
    assert response.status_code == 302
    row = OutboxMessage.objects.get(recipient=customer.email)
    assert row.status == "pending"
    assert deliver(row.pk).outcome == "sent"
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


def test_password_reset_for_unknown_address_reveals_nothing(client):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert not OutboxMessage.objects.exists()


def test_timezone_is_reset_for_anonymous_requests(client):
    client.get("/help/")
    assert timezone.get_current_timezone_name() == "UTC"


def test_notifications_about_the_same_page_read_as_one_entry(client):
    from core.models import Notification

    user = UserFactory(roles=["agent"])
    for n in range(5):
        Notification.objects.create(
            recipient=user, title=f"TKT-1 is at risk ({n})", url="/desk/tickets/TKT-1/"
        )
    Notification.objects.create(
        recipient=user, title="TKT-2 was assigned", url="/desk/tickets/TKT-2/"
    )
    client.force_login(user)
    page = client.get("/notifications/").content.decode()
    assert page.count("<li class=") == 2
    assert "TKT-1 is at risk (4)" in page and "TKT-1 is at risk (3)" not in page
    assert "+4 more, 5 unread" in page
    # Marking the entry read marks all five.
    ids = list(Notification.objects.filter(url="/desk/tickets/TKT-1/").values_list("pk", flat=True))
    client.post("/notifications/read/", {"id": [str(i) for i in ids]})
    assert not Notification.objects.filter(
        url="/desk/tickets/TKT-1/", read_at__isnull=True
    ).exists()
