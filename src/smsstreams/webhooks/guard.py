"""SSRF guard: webhooks go to public http(s) addresses unless the operator allows others.

The URL is checked when a stream is configured (scheme, literal IPs) and the resolved
addresses again right before each request (names can point anywhere, and can change).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

#: Set from SMSSTREAMS_WEBHOOK_ALLOW_PRIVATE when the server starts.
allow_private = False


class BlockedDestination(Exception):
    """The webhook URL points at an address we do not call."""


def _blocked_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_url(url: str, *, allow_private: bool) -> str | None:
    """Why this URL can never be called (scheme, literal private IP), or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Webhook URL must be an absolute http:// or https:// URL"
    if allow_private:
        return None
    try:
        ip = ipaddress.ip_address(parts.hostname)
    except ValueError:
        if parts.hostname.lower() in ("localhost", "localhost.localdomain"):
            return "Webhook URL points at this server (localhost)"
        return None
    if _blocked_ip(ip):
        return f"Webhook URL points at a private or local address ({ip})"
    return None


def check_resolved(url: str, *, allow_private: bool) -> None:
    """Resolve the host and refuse private, loopback and link-local targets (blocking)."""
    reason = check_url(url, allow_private=allow_private)
    if reason:
        raise BlockedDestination(reason)
    if allow_private:
        return
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise BlockedDestination(f"cannot resolve {parts.hostname}: {exc}") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if _blocked_ip(ip):
            raise BlockedDestination(
                f"{parts.hostname} resolves to a private or local address ({ip})"
            )
