"""SMS providers. `settings.SMS_PROVIDER` names the class; one instance is built per send."""

import logging
import uuid
from abc import ABC, abstractmethod

logger = logging.getLogger(__name__)


class SmsProvider(ABC):
    """Base class of an SMS gateway client.

    `send` returns the gateway's message id. An implementation must bound every network call with a
    timeout (e.g. `settings.WEBHOOK_TIMEOUT_SECONDS`) and raise
    `core.notifications.providers.DeliveryError` for failures worth retrying (timeouts, 5xx,
    throttling) and `PermanentDeliveryError` for those that are not (an invalid number).
    """

    @abstractmethod
    def send(self, to: str, body: str) -> str:
        """Send `body` to the phone number `to`; return the gateway's message id."""


class LoggingSmsProvider(SmsProvider):
    """Development provider: writes the message to the log instead of sending it."""

    def send(self, to: str, body: str) -> str:
        message_id = f"log-{uuid.uuid4().hex}"
        logger.info("SMS %s to %s: %s", message_id, to, body)
        return message_id
