"""Who is calling: the client's address, read the same way by rate limits, throttles and logs.

`X-Forwarded-For` is a list any client can start: each proxy appends the address it received
the connection from. Only the entries our own proxies appended can be believed, so the client is
the entry `TRUSTED_PROXY_COUNT` places from the right (with one proxy, the right-most one, which
that proxy wrote). With no trusted proxy (the default) the header is ignored and the address is
the peer of the connection (`REMOTE_ADDR`). Whatever a client puts in front of the list is never
read, so rotating the header changes nothing.
"""

import ipaddress

from django.conf import settings

FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def client_address(request) -> str:
    """The address the request came from, as far as our trusted proxies vouch for it.

    Falls back to `REMOTE_ADDR` when no proxy is trusted, when the header has fewer entries
    than trusted proxies (the request did not come through all of them) or when the entry is
    not an IP address.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    trusted = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if trusted <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get(FORWARDED_FOR, "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) < trusted:
        return remote
    candidate = hops[-trusted]
    return candidate if _valid(candidate) else remote
