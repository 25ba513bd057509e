"""A webhook is a request our server makes to an address someone typed: refuse internal ones.

`resolve(url)` refuses URLs that are not http(s), and hosts any of whose addresses is not a
public one: loopback, private (RFC 1918, unique-local), link-local (169.254.0.0/16, the cloud
metadata address 169.254.169.254 among them), shared, multicast, reserved or unspecified,
IPv4-mapped IPv6 forms included. It returns the checked address, and `post` connects to that
address only (the Host header and TLS name stay the URL's), so a DNS answer that changes
between the check and the connection (rebinding) cannot redirect the request. Redirects are
followed by hand, at most `MAX_REDIRECTS`, each target checked the same way.

`WEBHOOK_ALLOW_LOOPBACK` (default off) admits loopback addresses only, for the test receiver
on 127.0.0.1; private and metadata addresses are refused whatever it says.
"""

import contextlib
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.conf import settings

MAX_REDIRECTS = 3
MAX_RESPONSE_BYTES = 1024
METADATA_HOSTS = {"metadata.google.internal", "metadata"}


class UnsafeURL(ValueError):
    """The URL points somewhere a webhook must not go."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str
    path: str


def _refused(address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if settings.WEBHOOK_ALLOW_LOOPBACK else "a loopback address"
    if address.is_link_local:
        return "a link-local or metadata address"
    if address.is_private:
        return "a private address"
    if address.is_multicast or address.is_reserved or address.is_unspecified:
        return "a reserved address"
    if not address.is_global:
        return "a non-public address"
    return None


def check(url: str) -> None:
    """The check when a subscription is saved: as `resolve`, except that a host which does not
    resolve (yet) is accepted; every delivery resolves and checks it again."""
    with contextlib.suppress(UnresolvedHost):
        resolve(url)


class UnresolvedHost(UnsafeURL):
    pass


def resolve(url: str) -> Target:
    """Check `url` and its host's addresses; the first address, checked, to connect to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("A webhook URL is http:// or https://.")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeURL("A webhook URL needs a host.")
    if parts.username or parts.password:
        raise UnsafeURL("A webhook URL cannot carry a user name or password.")
    if host in METADATA_HOSTS:
        raise UnsafeURL("A webhook cannot call a metadata service.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL("The port is not a number.") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvedHost(f"The host {host} does not resolve.") from exc
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        reason = _refused(address)
        if reason:
            raise UnsafeURL(
                f"{host} resolves to {reason} ({address}); webhooks go to public hosts."
            )
        addresses.append(str(address))
    if not addresses:
        raise UnsafeURL(f"The host {host} has no address.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, addresses[0], path)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    url: str
    duration_ms: int


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float | None = None
) -> Response:
    """POST `body` to `url` (checked, pinned, redirects re-checked); raises `UnsafeURL` or
    `OSError` (connection refused, timeout)."""
    timeout = timeout or settings.WEBHOOK_TIMEOUT_SECONDS
    started = time.monotonic()
    for _ in range(MAX_REDIRECTS + 1):
        target = resolve(url)
        connection_class = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
        connection = connection_class(target, timeout)
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            status = response.status
            location = response.getheader("Location")
            text = response.read(MAX_RESPONSE_BYTES).decode("utf-8", "replace")
        finally:
            connection.close()
        if status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            continue
        return Response(status, text, url, int((time.monotonic() - started) * 1000))
    raise UnsafeURL(f"More than {MAX_REDIRECTS} redirects.")
