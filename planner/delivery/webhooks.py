"""Webhook calls: the signature, the guard against server-side request forgery, and the POST.

Each call is a POST of the stored JSON body with X-Planner-Event, X-Planner-Delivery (stable
across retries) and X-Planner-Signature: sha256=<hex HMAC-SHA256 of the raw body with the
webhook's secret>. docs/webhooks.md shows how a receiver checks it.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from planner import __version__
from planner.timeutil import iso_utc


def body_of(event_id: int, event: str, occurred_at: datetime, project_key: str, data) -> str:
    """The JSON every webhook receives for one event (docs/webhooks.md), compact, fixed once."""
    return json.dumps(
        {
            "id": event_id,
            "event": event,
            "occurred_at": iso_utc(occurred_at),
            "project": project_key,
            "data": data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def signature(secret: str, body: bytes) -> str:
    """The X-Planner-Signature value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class UnsafeURL(ValueError):
    """A webhook URL planner refuses to call; the message says why."""


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _blocked(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            address = address.ipv4_mapped
        elif address in NAT64:  # 64:ff9b::a9fe:a9fe is 169.254.169.254 behind NAT64
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return not address.is_global or address.is_multicast


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (the address that was checked, so that a second lookup
    cannot lead elsewhere) and what to ask for."""

    scheme: str
    host: str
    port: int
    address: str
    path: str


def check_url(url: str, *, allow_private: bool) -> Target:
    """Refuse anything but http(s) URLs whose host resolves only to public addresses (unless
    PLANNER_WEBHOOK_ALLOW_PRIVATE=1): loopback, private, link-local (cloud metadata) and
    reserved addresses are how a webhook would reach inside the network planner runs in.
    Returns the address to connect to."""
    if not url.isascii():
        raise UnsafeURL(
            "Write the URL in ASCII: percent-encode the path (é as %C3%A9) and give the host in "
            "its xn-- form."
        )
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed [ of an IPv6 address
        raise UnsafeURL("This is not a URL: check the brackets around the address.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("Enter an http:// or https:// URL, like https://ci.example.com/hook.")
    if parts.username or parts.password:
        raise UnsafeURL("Put no user or password in the URL; the secret signs each delivery.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL("The port in the URL is not a number from 1 to 65535.") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        name = parts.hostname if len(parts.hostname) <= 80 else parts.hostname[:77] + "..."
        raise UnsafeURL(f"{name} cannot be resolved to an address.") from None
    addresses = [info[4][0].split("%", 1)[0] for info in infos]
    if not allow_private:
        for text in addresses:
            address = ipaddress.ip_address(text)
            if _blocked(address):
                raise UnsafeURL(
                    f"{parts.hostname} resolves to {address}, a loopback, private or link-local "
                    "address; planner calls only public addresses (an administrator can allow "
                    "others with PLANNER_WEBHOOK_ALLOW_PRIVATE=1)."
                )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, addresses[0], path)


@dataclass(frozen=True)
class CallResult:
    ok: bool
    status_code: int | None
    duration_ms: int
    error: str | None


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address while the request names the host (no proxy either)."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.target = target

    def connect(self) -> None:
        self.sock = socket.create_connection((self.target.address, self.target.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self.target = target

    def connect(self) -> None:
        raw = socket.create_connection((self.target.address, self.target.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.target.host)


def call(
    url: str,
    body: str,
    *,
    secret: str,
    event: str,
    delivery_id: int,
    timeout: float,
    allow_private: bool,
) -> CallResult:
    """POST one delivery to the address just checked; 2xx is success, anything else (a 3xx
    too: redirects are never followed) or no answer within `timeout` seconds of waiting is a
    failure. Never raises: whatever goes wrong is the attempt's error."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = check_url(url, allow_private=allow_private)
    except UnsafeURL as exc:
        return CallResult(False, None, took(), f"Refused: {exc}")
    raw = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"planner-webhooks/{__version__}",
        "X-Planner-Event": event,
        "X-Planner-Delivery": str(delivery_id),
        "X-Planner-Signature": signature(secret, raw),
    }
    connection_class = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = connection_class(target, timeout)
    try:
        connection.request("POST", target.path, body=raw, headers=headers)
        answer = connection.getresponse()
        answer.read(65536)
        code = answer.status
    except Exception as exc:  # socket, TLS and HTTP protocol errors of every kind
        return CallResult(False, None, took(), f"No answer: {type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()
    ok = 200 <= code < 300
    return CallResult(ok, code, took(), None if ok else f"The receiver answered {code}.")
