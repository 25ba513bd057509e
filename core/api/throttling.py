"""DRF's throttles, reading the client's address through `core.clients.client_address`.

DRF has its own reading of `X-Forwarded-For` (`NUM_PROXIES`), which differs from ours when the
header is shorter than the proxy count; these classes make the API's idea of the caller's
address the same as the sign-in limits' and the logs'.
"""

from rest_framework import throttling

from core.clients import client_address


class ClientAddressMixin:
    def get_ident(self, request):
        return client_address(request)


class AnonRateThrottle(ClientAddressMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientAddressMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(ClientAddressMixin, throttling.ScopedRateThrottle):
    pass
