"""Outbound e-mail delivery: tracking webhooks, the suppression list, unsubscribe and consent."""

import base64
import json
import re
import uuid
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from core.models import DeliveryEvent, EmailOptOut, EmailSuppression, Notification, OutboxMessage
from core.models.notifications import EmailCategory, OutboxStatus
from core.notifications import consent, dispatch, notify_email, notify_in_app, suppression
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    # anymail 15 warns that SendGrid is no longer officially supported (settings silence the check).
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]

WEBHOOK = "/anymail/sendgrid/tracking/"
GOOD_AUTH = "Basic " + base64.b64encode(b"anymail-test:webhook-secret").decode()
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


def sent_email(to="someone@example.com", key=None, **kwargs):
    """An outbox e-mail delivered through the test backend; returns the row as sent."""
    row = notify_email(
        key=key or f"test:{uuid.uuid4().hex}", to=to, subject="Hello", body="Hi", **kwargs
    )
    assert dispatch.deliver(row.pk).outcome == dispatch.SENT
    row.refresh_from_db()
    return row


def sendgrid_event(row, event, *, at=T0, email=None, **fields):
    """One event as SendGrid's event webhook posts it (anymail reads `smtp-id` as the id)."""
    return {
        "email": email or row.recipient,
        "timestamp": at,
        "event": event,
        "smtp-id": row.provider_message_id,
        "sg_event_id": uuid.uuid4().hex,
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        **fields,
    }


def post_events(events, auth=GOOD_AUTH):
    return Client().post(
        WEBHOOK, data=json.dumps(events), content_type="application/json", HTTP_AUTHORIZATION=auth
    )


# --- delivery status ---------------------------------------------------------------------------


def test_tracking_events_are_recorded_against_their_outbox_row():
    row = sent_email()
    response = post_events(
        [
            sendgrid_event(row, "processed", at=T0),
            sendgrid_event(row, "delivered", at=T0 + 5, response="250 OK queued as 1234"),
        ]
    )
    assert response.status_code == 200
    events = list(row.delivery_events.order_by("occurred_at"))
    assert [e.kind for e in events] == ["queued", "delivered"]
    assert events[1].mta_response == "250 OK queued as 1234"
    assert events[1].raw["event"] == "delivered"
    row.refresh_from_db()
    assert row.delivery_state == "delivered"
    assert row.delivery_state_at == datetime.fromtimestamp(T0 + 5, tz=UTC)

    post_events([sendgrid_event(row, "open", at=T0 + 60)])
    row.refresh_from_db()
    assert row.delivery_state == "opened"


def test_the_latest_event_by_the_esps_time_wins_whatever_order_the_webhooks_come_in():
    row = sent_email()
    post_events([sendgrid_event(row, "delivered", at=T0 + 5)])
    post_events([sendgrid_event(row, "processed", at=T0)])  # late
    post_events([sendgrid_event(row, "processed", at=T0 + 5)])  # same second, earlier stage
    row.refresh_from_db()
    assert row.delivery_state == "delivered"
    assert row.delivery_events.count() == 3


def test_an_event_the_esp_sends_twice_is_recorded_once():
    row = sent_email()
    event = sendgrid_event(row, "bounce", reason="550 5.1.1 No such user", status="5.1.1")
    assert post_events([event]).status_code == 200
    assert post_events([event]).status_code == 200  # the ESP retried the webhook
    assert DeliveryEvent.objects.filter(outbox_message=row).count() == 1
    assert EmailSuppression.objects.filter(address=row.recipient).count() == 1


def test_an_unknown_message_id_is_recorded_as_unmatched_not_an_error():
    response = post_events(
        [
            {
                "email": "stranger@example.com",
                "timestamp": T0,
                "event": "delivered",
                "smtp-id": "<not-ours@elsewhere.example>",
                "sg_event_id": "unmatched-1",
            }
        ]
    )
    assert response.status_code == 200
    event = DeliveryEvent.objects.get(dedupe_key="SendGrid:unmatched-1")
    assert event.outbox_message is None
    assert event.provider_message_id == "<not-ours@elsewhere.example>"


def test_an_id_covering_several_recipients_is_matched_by_recipient_too():
    first = sent_email(to="ann@example.com")
    second = sent_email(to="bob@example.com")
    OutboxMessage.objects.filter(pk=second.pk).update(provider_message_id=first.provider_message_id)
    post_events([sendgrid_event(first, "delivered", email="BOB@example.com")])
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.delivery_state == "delivered"
    assert first.delivery_state == ""


@pytest.mark.parametrize(
    "auth",
    [None, "Basic " + base64.b64encode(b"anymail-test:wrong").decode(), "Bearer x"],
    ids=["none", "wrong-secret", "other-scheme"],
)
def test_the_webhook_refuses_calls_without_the_secret_and_records_nothing(auth):
    row = sent_email()
    client = Client()
    extra = {"HTTP_AUTHORIZATION": auth} if auth else {}
    body = json.dumps([sendgrid_event(row, "bounce", reason="550 5.1.1 No such user")])
    response = client.post(WEBHOOK, data=body, content_type="application/json", **extra)
    assert response.status_code in (400, 401, 403)
    assert not DeliveryEvent.objects.exists()
    assert not EmailSuppression.objects.exists()
    row.refresh_from_db()
    assert row.delivery_state == ""


def test_staff_see_a_messages_delivery_events_in_the_admin(admin_user):
    row = sent_email()
    post_events([sendgrid_event(row, "delivered", response="250 OK queued as XYZ")])
    client = Client()
    client.force_login(admin_user)
    page = client.get(reverse("admin:core_outboxmessage_change", args=[row.pk]))
    assert page.status_code == 200
    assert b"250 OK queued as XYZ" in page.content
    listing = client.get(reverse("admin:core_outboxmessage_changelist"))
    assert b"Delivered" in listing.content
    event = row.delivery_events.get()
    assert client.post(
        reverse("admin:core_deliveryevent_delete", args=[event.pk]), {"post": "yes"}
    ).status_code in (302, 403)
    assert DeliveryEvent.objects.filter(pk=event.pk).exists()


# --- suppression -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "fields", "reason"),
    [
        (
            "bounce",
            {"reason": "550 5.1.1 The account does not exist", "status": "5.1.1"},
            "bounced",
        ),
        ("spamreport", {}, "complained"),
        ("dropped", {"reason": "Bounced Address"}, "rejected"),
        ("dropped", {"reason": "Invalid"}, "rejected"),
    ],
    ids=["hard-bounce", "complaint", "dropped-bounced-address", "dropped-invalid"],
)
def test_hard_bounces_complaints_and_bad_address_rejections_suppress(event, fields, reason):
    row = sent_email(to="Gone@Example.com")
    post_events([sendgrid_event(row, event, **fields)])
    suppressed = EmailSuppression.objects.get(address="gone@example.com")
    assert suppressed.reason == reason
    assert suppressed.event.outbox_message == row
    assert suppressed.is_active


@pytest.mark.parametrize(
    ("event", "fields"),
    [
        ("deferred", {"response": "451 4.7.1 Try again later", "attempt": "1"}),
        ("bounce", {"type": "blocked", "reason": "550 blocked by policy", "status": "5.0.0"}),
        ("bounce", {"reason": "452 4.2.2 Mailbox full", "status": "4.2.2"}),
        ("dropped", {"reason": "Unsubscribed Address"}),
        ("delivered", {}),
    ],
    ids=["deferred", "sendgrid-block", "soft-bounce", "dropped-unsubscribed", "delivered"],
)
def test_soft_bounces_and_deferrals_do_not_suppress(event, fields):
    row = sent_email()
    post_events([sendgrid_event(row, event, **fields)])
    assert row.delivery_events.count() == 1
    assert not EmailSuppression.objects.exists()


def test_mail_to_a_suppressed_address_is_not_sent_and_not_retried_but_in_app_still_goes():
    user = UserFactory(email="bounced@example.com")
    suppression.suppress(address="bounced@example.com", reason="bounced", detail="550 5.1.1")
    row = notify_email(key="test:suppressed", to="Bounced@Example.com", subject="S", body="B")
    assert dispatch.deliver(row.pk).outcome == dispatch.FAILED
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert row.last_error.startswith("Suppressed: bounced@example.com is on the suppression list")
    assert row.attempts == 1
    assert dispatch.deliver(row.pk).outcome == dispatch.ALREADY_FAILED
    assert mail.outbox == []

    bell = notify_in_app(key="test:suppressed:in-app", user=user, title="Still told")
    assert dispatch.deliver(bell.pk).outcome == dispatch.SENT
    assert Notification.objects.filter(recipient=user, title="Still told").exists()


def test_a_suppression_arriving_after_the_row_was_written_still_stops_it():
    row = notify_email(key="test:late-bounce", to="late@example.com", subject="S", body="B")
    suppression.suppress(address="late@example.com", reason="complained")
    assert dispatch.deliver(row.pk).outcome == dispatch.FAILED
    assert mail.outbox == []


def _confirmation_link(body: str) -> str:
    return re.search(r"http://\S+/email/confirm/\S+/", body).group(0)


def test_confirming_the_address_again_lifts_the_suppression(client):
    user = UserFactory(email="back@example.com")
    post_suppression = suppression.suppress(
        address=user.email, reason="bounced", detail="550 5.1.1 unknown user"
    )
    client.force_login(user)
    page = client.get(reverse("preferences"))
    assert b"We have stopped e-mailing back@example.com" in page.content
    assert b"550 5.1.1 unknown user" in page.content

    assert client.post(reverse("email-confirm-request")).status_code == 302
    client.post(reverse("email-confirm-request"))  # pressed twice: one e-mail
    rows = OutboxMessage.objects.filter(key__startswith=f"email-suppression:{post_suppression.pk}")
    assert rows.count() == 1
    confirmation = rows.get()
    assert confirmation.ignore_suppression
    assert dispatch.deliver(confirmation.pk).outcome == dispatch.SENT  # the one that gets through
    assert mail.outbox[0].to == ["back@example.com"]

    link = _confirmation_link(mail.outbox[0].body)
    assert Client().get(link.replace("http://127.0.0.1:8000", "")).status_code == 200
    post_suppression.refresh_from_db()
    assert post_suppression.lifted_at is not None
    assert post_suppression.lifted_how == "confirmation"
    assert not suppression.is_suppressed(user.email)
    assert b"We have stopped" not in client.get(reverse("preferences")).content

    after = notify_email(key="test:after-confirmation", to=user.email, subject="S", body="B")
    assert dispatch.deliver(after.pk).outcome == dispatch.SENT


def test_a_forged_or_expired_confirmation_link_lifts_nothing(client, settings):
    held = suppression.suppress(address="held@example.com", reason="bounced")
    token = suppression.confirmation_token(held)
    assert client.get(reverse("email-confirm", args=[token[:-2] + "xx"])).status_code == 400
    other = suppression.suppress(address="other@example.com", reason="bounced")
    assert suppression.confirm(suppression.confirmation_token(other)) == other  # scoped to one
    settings.EMAIL_CONFIRMATION_MAX_AGE_HOURS = 0
    assert client.get(reverse("email-confirm", args=[token])).status_code == 400
    held.refresh_from_db()
    assert held.is_active


def test_staff_lift_a_suppression_in_the_admin(admin_user):
    held = suppression.suppress(address="staff-lift@example.com", reason="complained")
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:core_emailsuppression_changelist"),
        {"action": "lift_suppressions", "_selected_action": [held.pk]},
    )
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.lifted_how == "staff"
    assert held.lifted_by == admin_user
    # A later bounce starts a new suppression; the lifted one stays as history.
    suppression.suppress(address="staff-lift@example.com", reason="bounced")
    assert EmailSuppression.objects.filter(address="staff-lift@example.com").count() == 2


# --- one-click unsubscribe and preferences -----------------------------------------------------


def test_optional_mail_carries_one_click_unsubscribe_and_required_mail_does_not():
    optional = notify_email(
        key="test:optional", to="Reader@Example.com", subject="S", body="B", category="updates"
    )
    required = notify_email(key="test:required", to="reader@example.com", subject="S", body="B")
    assert optional.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(
        r"<http://\S+/email/unsubscribe/[^/\s]+/>", optional.headers["List-Unsubscribe"]
    )
    assert "List-Unsubscribe" not in required.headers
    dispatch.deliver(optional.pk)
    assert mail.outbox[0].extra_headers["List-Unsubscribe"] == optional.headers["List-Unsubscribe"]


def test_unsubscribe_get_changes_nothing_and_the_one_click_post_needs_no_sign_in_or_csrf():
    url = consent.unsubscribe_url("reader@example.com", EmailCategory.SURVEYS)
    path = url.replace("http://127.0.0.1:8000", "")
    client = Client(enforce_csrf_checks=True)
    page = client.get(path)
    assert page.status_code == 200
    assert b"reader@example.com" in page.content
    assert not EmailOptOut.objects.exists()  # link scanners open links

    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert EmailOptOut.objects.get().source == "one-click"
    assert consent.opted_out("READER@example.com", EmailCategory.SURVEYS)
    assert not consent.opted_out("reader@example.com", EmailCategory.UPDATES)  # one category
    assert client.post(path).status_code == 200  # again: idempotent
    assert EmailOptOut.objects.count() == 1
    assert (
        notify_email(
            key="test:survey", to="reader@example.com", subject="S", body="B", category="surveys"
        )
        is None
    )


def test_a_forged_unsubscribe_token_is_refused():
    token = consent.unsubscribe_token("victim@example.com", EmailCategory.UPDATES)
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert Client().post(reverse("email-unsubscribe", args=[forged])).status_code == 404
    other_salt = consent.signing.dumps({"a": "victim@example.com", "c": "updates"})
    assert Client().post(reverse("email-unsubscribe", args=[other_salt])).status_code == 404
    assert not EmailOptOut.objects.exists()


def test_the_preferences_page_sets_e_mail_categories_and_sms(client):
    user = UserFactory(email="prefs@example.com", phone="")
    client.force_login(user)
    page = client.get(reverse("preferences"))
    assert b'name="email_updates"' in page.content
    assert b'name="email_surveys"' in page.content
    form = {"full_name": "P", "time_zone": "UTC", "language": "en", "email_updates": "on"}

    refused = client.post(reverse("preferences"), {**form, "sms_notifications": "on"})
    assert refused.status_code == 200
    assert b"A mobile number is needed" in refused.content

    client.post(
        reverse("preferences"), {**form, "sms_notifications": "on", "phone": "+44 20 7946 0000"}
    )
    user.refresh_from_db()
    assert user.sms_notifications and user.phone == "+44 20 7946 0000"
    assert consent.opted_out_categories(user.email) == {"surveys"}
    client.post(reverse("preferences"), {**form, "email_surveys": "on"})
    assert consent.opted_out_categories(user.email) == set()
