import pytest

from . import receiver as receiver_module


@pytest.fixture
def receiver(settings):
    """The test receiver on loopback; only its tests allow loopback targets."""
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    started = receiver_module.start()
    yield started
    started.server.shutdown()
    started.server.server_close()
