"""One sender per channel. Each takes an `OutboxMessage` and returns the provider's message id.

A sender raises `DeliveryError` for a failure worth retrying (timeout, connection refused, 5xx,
throttling) and `PermanentDeliveryError` for one that will not get better by retrying (a refused
recipient, a revoked webhook, a deleted user). Every network call is bounded by a timeout:
SMTP by `EMAIL_TIMEOUT`, ESP backends by their own request timeout, webhooks by
`WEBHOOK_TIMEOUT_SECONDS`, SMS by the provider class.
"""

import json
import os
import smtplib
import urllib.error
import urllib.request
from contextlib import suppress
from email.utils import parseaddr
from urllib.parse import urlsplit

import requests
from anymail.exceptions import AnymailError, AnymailRecipientsRefused, AnymailRequestsAPIError
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends import smtp as smtp_backend
from django.core.mail.utils import DNS_NAME
from django.utils.module_loading import import_string

from core.models import Notification, OutboxMessage
from core.models.notifications import Channel


class DeliveryError(Exception):
    """The message was not delivered; trying again later may succeed."""


class PermanentDeliveryError(DeliveryError):
    """The message was not delivered and never will be; the row is marked failed at once."""


class OutcomeUnknown(PermanentDeliveryError):
    """The provider may have accepted the message: our call failed after handing it over.

    An SMTP server that took the whole message and then timed out (or hung up) before its final
    reply, an ESP whose HTTP answer never came. SMTP has no idempotency key a server dedupes on,
    and SendGrid's API has none either, so sending again could deliver the message twice. The
    row is marked failed with "Outcome unknown" in `last_error` and never resent; an operator
    checks the provider's log (the Message-ID is on the row) and re-queues it if it was lost.
    """


def send(message: OutboxMessage) -> str:
    """Deliver `message` on its channel; returns the provider's message id."""
    senders = {
        Channel.EMAIL: send_email,
        Channel.SMS: send_sms,
        Channel.SLACK: send_slack,
        Channel.TEAMS: send_teams,
        Channel.IN_APP: send_in_app,
        Channel.WEBHOOK: send_webhook,
    }
    try:
        sender = senders[message.channel]
    except KeyError:
        raise PermanentDeliveryError(f"Unknown channel {message.channel!r}") from None
    return sender(message)


# --- E-mail ---------------------------------------------------------------------------------


_MESSAGE_ID_DOMAINS: dict[str, str] = {}


def make_message_id() -> str:
    """A fresh Message-ID in the domain of DEFAULT_FROM_EMAIL: `<32 random hex digits@domain>`.

    128 bits from `os.urandom` (what a uuid4 holds, less its six fixed bits, without building
    the UUID) are as unique as `email.utils.make_msgid` (time, pid and 64 random bits) at a
    fraction of its cost; the domain is parsed once per DEFAULT_FROM_EMAIL (the monitor writes
    thousands).
    """
    from_email = settings.DEFAULT_FROM_EMAIL
    domain = _MESSAGE_ID_DOMAINS.get(from_email)
    if domain is None:
        domain = parseaddr(from_email)[1].rpartition("@")[2] or str(DNS_NAME)
        _MESSAGE_ID_DOMAINS[from_email] = domain
    return f"<{os.urandom(16).hex()}@{domain}>"


class Suppressed(PermanentDeliveryError):
    """The address is on the suppression list (it bounced hard or complained): not sent."""

    def __str__(self):
        return f"Suppressed: {self.args[0]}"


def _refuse_suppressed(message: OutboxMessage) -> None:
    from .suppression import active_suppression

    if message.ignore_suppression:
        return
    suppression = active_suppression(message.recipient)
    if suppression is not None:
        raise Suppressed(
            f"{suppression.address} is on the suppression list "
            f"({suppression.get_reason_display()} since {suppression.since:%Y-%m-%d %H:%M} UTC);"
            " not sent until the address is confirmed again"
        )


def send_email(message: OutboxMessage) -> str:
    _refuse_suppressed(message)
    headers = dict(message.headers or {})
    reply_to = headers.pop("Reply-To", "")
    message_id = next((v for k, v in headers.items() if k.lower() == "message-id"), "")
    if not message_id:
        # `notify_email` stores one so that every retry carries the same id; rows written by other
        # means get one here.
        message_id = headers["Message-ID"] = make_message_id()
    email = EmailMultiAlternatives(
        connection=_email_connection(),
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.recipient],
        reply_to=[reply_to] if reply_to else None,
        headers=headers,
    )
    if message.html_body:
        email.attach_alternative(message.html_body, "text/html")
    try:
        sent = email.send(fail_silently=False)
    except (smtplib.SMTPRecipientsRefused, AnymailRecipientsRefused) as exc:
        raise PermanentDeliveryError(f"Recipient refused: {exc}") from exc
    except OutcomeUnknown:
        raise
    except (smtplib.SMTPException, OSError, AnymailError) as exc:
        if isinstance(exc, AnymailRequestsAPIError) and isinstance(
            exc.__cause__, requests.exceptions.ReadTimeout
        ):
            # The request went out whole; only the ESP's answer is missing.
            raise OutcomeUnknown(f"Outcome unknown: the ESP did not answer in time: {exc}") from exc
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if not sent:
        raise DeliveryError("The e-mail backend reported nothing sent")
    # With anymail the ESP's id is known after sending; otherwise the Message-ID we set identifies
    # the message (in the recipient's copy and in bounce reports).
    status = getattr(email, "anymail_status", None)
    esp_id = getattr(status, "message_id", None)
    if isinstance(esp_id, set):
        esp_id = ",".join(sorted(str(i) for i in esp_id))
    return str(esp_id or message_id)


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def _email_connection():
    """The configured backend; Django's SMTP backend is swapped for ours, which knows when a
    failure came after the server had the whole message."""
    if settings.EMAIL_BACKEND == SMTP_BACKEND:
        return get_connection(f"{__name__}.SMTPBackend")
    return get_connection()


class _WatchedSMTPMixin:
    """Notes when the server said 354 to DATA: from then on it may have taken the message."""

    message_handed_over = False

    def getreply(self):
        code, reply = super().getreply()
        if code == 354:
            self.message_handed_over = True
        return code, reply


class _WatchedSMTP(_WatchedSMTPMixin, smtplib.SMTP):
    pass


class _WatchedSMTPSSL(_WatchedSMTPMixin, smtplib.SMTP_SSL):
    pass


class SMTPBackend(smtp_backend.EmailBackend):
    """Django's SMTP backend, raising `OutcomeUnknown` for a failure after the message was sent.

    The server answers DATA with 354, we send the message, and its final "250 queued" never
    comes (a timeout, a dropped connection): it may be queued, so it must not be sent again. A
    failure before that (connecting, EHLO, a refused sender or recipient) or a reply with an
    error code is a plain `DeliveryError` or `PermanentDeliveryError`, retried or not as before.
    Usable as EMAIL_BACKEND itself; `send_email` uses it in place of Django's SMTP backend.
    """

    @property
    def connection_class(self):
        return _WatchedSMTPSSL if self.use_ssl else _WatchedSMTP

    def _send(self, email_message):
        if self.connection is not None:
            self.connection.message_handed_over = False
        try:
            return super()._send(email_message)
        except smtplib.SMTPResponseException:
            raise  # the server answered with an error: it did not take the message
        except OSError as exc:  # timeouts, resets, SMTPServerDisconnected
            if getattr(self.connection, "message_handed_over", False):
                raise OutcomeUnknown(
                    f"Outcome unknown: the SMTP server took the message and then failed to "
                    f"confirm it ({type(exc).__name__}: {exc})"
                ) from exc
            raise

    def close(self):
        # QUIT to a server that stopped answering times out too; that must not replace the
        # error of the send itself (Django closes in a `finally`).
        connection = self.connection
        try:
            super().close()
        except OSError:
            if connection is not None:
                with suppress(OSError):
                    connection.close()


# --- SMS ------------------------------------------------------------------------------------


def send_sms(message: OutboxMessage) -> str:
    provider = import_string(settings.SMS_PROVIDER)()
    return str(provider.send(message.recipient, message.body))


# --- Webhooks (Slack, Teams) ----------------------------------------------------------------


def post_json(url: str, payload: dict) -> str:
    """POST `payload` as JSON; returns the response body (at most 1 KiB). Non-2xx raises."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise PermanentDeliveryError("Webhook URL must be http(s)")
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            status = response.status
            body = response.read(1024).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        # 4xx means the hook is gone or rejects the payload (Slack: 404 no_service, 410
        # channel_is_archived); only a timeout or throttling is worth another try.
        error = (
            DeliveryError if exc.code >= 500 or exc.code in (408, 429) else PermanentDeliveryError
        )
        raise error(f"Webhook answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"Webhook unreachable: {getattr(exc, 'reason', exc)}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"Webhook answered HTTP {status}")
    return body


def send_slack(message: OutboxMessage) -> str:
    post_json(message.recipient, {"text": message.body})
    return ""  # Incoming webhooks answer "ok" and no id.


def send_teams(message: OutboxMessage) -> str:
    post_json(message.recipient, {"text": message.body})
    return ""


def send_webhook(message: OutboxMessage) -> str:
    """An outbound webhook delivery: signed, SSRF-checked, logged (`core.webhooks.delivery`)."""
    from core.webhooks.delivery import send

    return send(message)


# --- In-app ---------------------------------------------------------------------------------


def send_in_app(message: OutboxMessage) -> str:
    """Creates the bell-menu entry. The one-to-one link to the outbox row makes this idempotent."""
    if message.recipient_user_id is None:
        raise PermanentDeliveryError("The recipient user no longer exists")
    notification, _ = Notification.objects.get_or_create(
        outbox_message=message,
        defaults={
            "recipient_id": message.recipient_user_id,
            "title": message.subject,
            "body": message.body,
            "url": (message.headers or {}).get("url", ""),
        },
    )
    return f"notification:{notification.pk}"
