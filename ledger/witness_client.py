"""The portal's only outgoing HTTP: one POST to a member's witness, refusing to be a request
forgery tool (issue 14, section 2).

- Only ``https`` URLs (``http`` where ``LEDGER_WITNESS_ALLOW_HTTP`` allows it), without user
  info, query or fragment.
- The host is resolved once per call and refused if *any* address it resolves to is loopback,
  link-local, private, multicast, unspecified, reserved or otherwise not global (an IPv4
  address mapped into IPv6 is judged as the IPv4 address), unless it lies in
  ``LEDGER_WITNESS_ALLOWED_NETWORKS``. The connection then goes to that checked address (no
  second lookup a rebinding DNS server could answer differently); the Host header and TLS SNI
  and certificate check use the name.
- Redirects are never followed; connect and read timeouts, and one deadline for the call, are
  enforced (a watchdog closes the socket at the deadline, so a witness dripping bytes cannot
  hold the worker); at most ``MAX_REPLY_BYTES`` of the reply are read.

Failures are raised as :class:`WitnessCallError` with a classification and a short reason of
our own: nothing the witness sent is ever part of it.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MAX_REPLY_BYTES = 16 * 1024

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class WitnessURLError(ValueError):
    """The URL or an address it resolves to is not allowed; the message says why."""


class WitnessCallError(Exception):
    """A call that produced no HTTP reply to judge: `classification` is a WitnessStatus value."""

    def __init__(self, classification: str, reason: str) -> None:
        super().__init__(reason)
        self.classification = classification
        self.reason = reason


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal without brackets
    port: int
    path: str  # without a trailing slash

    def endpoint(self, name: str) -> str:
        return f"{self.path}/{name}"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str


def parse_url(url: str) -> Target:
    """The parts of a witness URL, or WitnessURLError. Resolves nothing."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise WitnessURLError("This is not a valid URL.") from exc
    scheme = parts.scheme.lower()
    if scheme == "http":
        if not settings.LEDGER_WITNESS_ALLOW_HTTP:
            raise WitnessURLError("A witness URL must use https:// (plain http is not allowed).")
    elif scheme != "https":
        raise WitnessURLError("A witness URL must use https://.")
    if parts.username is not None or parts.password is not None:
        raise WitnessURLError("A witness URL must not contain a user name or password.")
    if parts.query or parts.fragment or url.strip().endswith(("?", "#")):
        raise WitnessURLError("A witness URL must not have a query (?) or fragment (#).")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise WitnessURLError("A witness URL must name a host.")
    try:
        host = host.encode("idna").decode("ascii") if not _literal(host) else host
    except UnicodeError as exc:
        raise WitnessURLError("The host name of this URL is not valid.") from exc
    if any(c in parts.path for c in "\r\n\t ") or not parts.path.isascii():
        raise WitnessURLError("The path of a witness URL must be plain ASCII without spaces.")
    return Target(scheme, host, port or (443 if scheme == "https" else 80), parts.path.rstrip("/"))


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [
            ipaddress.ip_network(str(n).strip(), strict=False)
            for n in settings.LEDGER_WITNESS_ALLOWED_NETWORKS
            if str(n).strip()
        ]
    except ValueError as exc:
        raise ImproperlyConfigured(f"LEDGER_WITNESS_ALLOWED_NETWORKS: {exc}") from exc


def address_refusal(address: Address) -> str | None:
    """What kind of address `address` is if a witness may not have it, or None if it may."""
    mapped = getattr(address, "ipv4_mapped", None)
    judged: Address = mapped or address
    for network in allowed_networks():
        if address in network or judged in network:
            return None
    if judged.is_loopback:
        return "a loopback address"
    if judged.is_link_local:
        return "a link-local address"
    if judged.is_multicast:
        return "a multicast address"
    if judged.is_unspecified:
        return "the unspecified address"
    if judged.is_private:
        return "a private address"
    if judged.is_reserved:
        return "a reserved address"
    if not judged.is_global:
        return "not a public address"
    return None


def _refused(address: Address, kind: str, host: str | None = None) -> WitnessURLError:
    where = f"{host} resolves to {address}, {kind}" if host else f"{address} is {kind}"
    return WitnessURLError(
        f"{where}: witnesses there are not allowed "
        "(unless LEDGER_WITNESS_ALLOWED_NETWORKS lists it)."
    )


def resolve(target: Target) -> list[Address]:
    """Every address `target.host` resolves to, each checked; WitnessURLError if any is refused.

    An IP literal is not looked up. The result is what the caller must connect to.
    """
    literal = _literal(target.host)
    if literal is not None:
        addresses: list[Address] = [literal]
    else:
        try:
            found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise WitnessURLError(f"The host {target.host} could not be resolved.") from exc
        addresses = []
        for _family, _type, _proto, _canon, sockaddr in found:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise WitnessURLError(f"The host {target.host} could not be resolved.")
    for address in addresses:
        kind = address_refusal(address)
        if kind is not None:
            raise _refused(address, kind, None if literal is not None else target.host)
    return addresses


def check_url(url: str, *, resolve_host: bool = True) -> Target:
    """Registration's check: the URL's form and (with `resolve_host`) its addresses now."""
    target = parse_url(url)
    literal = _literal(target.host)
    if literal is not None:
        kind = address_refusal(literal)
        if kind is not None:
            raise _refused(literal, kind)
    elif resolve_host:
        resolve(target)
    return target


class _Connection(http.client.HTTPConnection):
    """HTTP(S) to one given address; Host header, SNI and certificate use the target's name."""

    def __init__(self, target: Target, address: Address, connect_timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=connect_timeout)
        self._target = target
        self._address = address

    def connect(self) -> None:
        family = socket.AF_INET6 if self._address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect((str(self._address), self._target.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._target.scheme == "https":
                context = ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=self._target.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def post(url: str, endpoint: str, body: bytes, *, deadline: float) -> Reply:
    """POST `body` to `url`/`endpoint` under the rules above, by `deadline` (time.monotonic()).

    Returns the reply (any status, 3xx included: it is never followed) or raises
    WitnessCallError: address_refused, unreachable, timed_out or bad_response.
    """
    try:
        target = parse_url(url)
        addresses = resolve(target)
    except WitnessURLError as exc:
        raise WitnessCallError("address_refused", str(exc)) from exc
    if time.monotonic() >= deadline:
        raise WitnessCallError("timed_out", "the block's deadline passed before it was asked")
    last: WitnessCallError | None = None
    for address in addresses:
        try:
            return _post_to(target, address, endpoint, body, deadline)
        except WitnessCallError as exc:
            if exc.classification != "unreachable":
                raise
            last = exc
    assert last is not None
    raise last


def _post_to(
    target: Target, address: Address, endpoint: str, body: bytes, deadline: float
) -> Reply:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise WitnessCallError("timed_out", "the block's deadline passed")
    connect_timeout = min(float(settings.LEDGER_WITNESS_CONNECT_TIMEOUT_SECONDS), remaining)
    read_timeout = float(settings.LEDGER_WITNESS_TIMEOUT_SECONDS)
    connection = _Connection(target, address, connect_timeout)
    expired = threading.Event()

    def abort() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(remaining, abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        try:
            connection.connect()
        except TimeoutError as exc:
            raise WitnessCallError("timed_out", "no connection within the connect timeout") from exc
        except ssl.SSLCertVerificationError as exc:
            raise WitnessCallError(
                "unreachable", "its TLS certificate could not be verified"
            ) from exc
        except ssl.SSLError as exc:
            raise WitnessCallError("unreachable", "the TLS handshake failed") from exc
        except OSError as exc:
            if expired.is_set():
                raise WitnessCallError("timed_out", "the block's deadline passed") from exc
            raise WitnessCallError("unreachable", "could not connect") from exc
        connection.sock.settimeout(read_timeout)
        try:
            connection.request(
                "POST",
                target.endpoint(endpoint) or "/",
                body=body,
                headers={"Content-Type": "text/plain; charset=utf-8", "Connection": "close"},
            )
            response = connection.getresponse()
            data = response.read(MAX_REPLY_BYTES + 1)
        except TimeoutError as exc:
            raise WitnessCallError("timed_out", "no answer within the read timeout") from exc
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set():
                raise WitnessCallError("timed_out", "the block's deadline passed") from exc
            raise WitnessCallError("bad_response", "the reply was not valid HTTP") from exc
        if expired.is_set():
            raise WitnessCallError("timed_out", "the block's deadline passed")
        if len(data) > MAX_REPLY_BYTES:
            raise WitnessCallError("bad_response", "the reply was too long for a witness")
        return Reply(response.status, data, response.getheader("Content-Type") or "")
    finally:
        watchdog.cancel()
        connection.close()
