"""Where outgoing webhooks may go (SSRF): https only in production, and never to a private,
loopback, link-local or otherwise non-public address unless OUTGOING_WEBHOOKS_ALLOW_PRIVATE.

The address is checked after resolving the name, at every delivery, and the connection is
then made to that very address (see delivery.py): a name that resolves to a public address
when checked and to 127.0.0.1 when connecting (DNS rebinding) cannot slip through.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _


class UnsafeDestination(ValueError):
    """The URL may not be called; the message says why, in words."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # the name, for the Host header, SNI and the certificate check
    port: int
    path: str  # path and query
    address: str  # the checked IP address the connection goes to


def check_url(url: str) -> tuple[str, str, int, str]:
    """The URL's scheme, host, port and path, if its form is allowed here (no resolving)."""
    if not isinstance(url, str) or len(url) > 2048:
        raise UnsafeDestination(_("The URL must be at most 2048 characters."))
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeDestination(_("This is not a valid URL.")) from None
    allowed = ("https",) if current_app.config["PORTAL_ENV"] == "production" else ("https", "http")
    if parts.scheme not in allowed:
        raise UnsafeDestination(_("The URL must start with https://.") if allowed == ("https",)
                                else _("The URL must start with https:// or http://."))
    if not parts.hostname:
        raise UnsafeDestination(_("The URL has no host name."))
    if parts.username or parts.password:
        raise UnsafeDestination(_("The URL may not hold a user name or password; the signature authenticates."))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve(url: str) -> Destination:
    """Resolve the URL's host and pick an address that may be called; refuse if any is not allowed."""
    scheme, host, port, path = check_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeDestination(f"The host name {host} does not resolve.") from None
    addresses = sorted({info[4][0] for info in infos})
    if not addresses:
        raise UnsafeDestination(f"The host name {host} does not resolve.")
    if not current_app.config["OUTGOING_WEBHOOKS_ALLOW_PRIVATE"]:
        for address in addresses:
            if not is_public(address):
                raise UnsafeDestination(
                    f"{host} resolves to {address}, a private, loopback or reserved address; "
                    "webhooks go only to public addresses.")
    return Destination(scheme, host, port, path, addresses[0])


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
                                 or ip.is_private or ip.is_unspecified)
