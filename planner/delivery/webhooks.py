"""Webhook calls: the signature, the guard against server-side request forgery, and the POST.

Each call is a POST of the stored JSON body with X-Planner-Event, X-Planner-Delivery (stable
across retries) and X-Planner-Signature: sha256=<hex HMAC-SHA256 of the raw body with the
webhook's secret>. docs/webhooks.md shows how a receiver checks it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
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


def _blocked(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse anything but http(s) URLs whose host resolves only to public addresses (unless
    PLANNER_WEBHOOK_ALLOW_PRIVATE=1): loopback, private, link-local (cloud metadata) and
    reserved addresses are how a webhook would reach inside the network planner runs in."""
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
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        name = parts.hostname if len(parts.hostname) <= 80 else parts.hostname[:77] + "..."
        raise UnsafeURL(f"{name} cannot be resolved to an address.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if _blocked(address):
            raise UnsafeURL(
                f"{parts.hostname} resolves to {address}, a loopback, private or link-local "
                "address; planner calls only public addresses (an administrator can allow "
                "others with PLANNER_WEBHOOK_ALLOW_PRIVATE=1)."
            )


@dataclass(frozen=True)
class CallResult:
    ok: bool
    status_code: int | None
    duration_ms: int
    error: str | None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (3xx), never followed: it could point inside the network."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


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
    """POST one delivery; 2xx is success, anything else (or no answer in time) is a failure."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        check_url(url, allow_private=allow_private)
    except UnsafeURL as exc:
        return CallResult(False, None, took(), f"Refused: {exc}")
    raw = body.encode()
    request = urllib.request.Request(
        url,
        data=raw,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": f"planner-webhooks/{__version__}",
            "X-Planner-Event": event,
            "X-Planner-Delivery": str(delivery_id),
            "X-Planner-Signature": signature(secret, raw),
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            answer.read(65536)
            code = answer.status
    except urllib.error.HTTPError as exc:
        code = exc.code
        exc.close()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return CallResult(False, None, took(), f"No answer: {reason}"[:500])
    ok = 200 <= code < 300
    return CallResult(ok, code, took(), None if ok else f"The receiver answered {code}.")
