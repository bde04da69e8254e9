"""Who may read ``/metrics``: signed-in portal admins, and scrapers on the allowed networks.

A scraper is admitted by the address of the socket's peer, as the ASGI server reports it,
never by ``X-Forwarded-For``: anyone may write that header. Behind a proxy, though, the peer
is the proxy, whoever the client is, and the proxy often sits on the loopback this setting
allows by default. So a request carrying any proxy's forwarding header came through a proxy
and is never admitted by its address; a scraper reaches the portal directly. (Uvicorn
rewrites the peer from ``X-Forwarded-For`` for proxies it trusts, but leaves the header, so
such a request is refused by the same rule.)
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

from accounts.guards import is_portal_admin

# Headers that proxies add; their presence means the peer address is a proxy's.
FORWARDING_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_REAL_IP",
)


def peer_address(request: HttpRequest) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return the address of the socket's peer, None when unknown (a Unix socket, say)."""
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR") or "")
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
        return address.ipv4_mapped
    return address


def from_allowed_network(request: HttpRequest) -> bool:
    """Tell whether the request came straight from a network of METRICS_ALLOWED_NETWORKS."""
    if any(header in request.META for header in FORWARDING_HEADERS):
        return False
    address = peer_address(request)
    return address is not None and any(
        address in network for network in settings.METRICS_ALLOWED_NETWORKS
    )


def may_read_metrics(request: HttpRequest) -> bool:
    """Tell whether the request may read the metrics: an allowed network, or an admin."""
    # The address first: a scraper's request then costs no session lookup.
    return from_allowed_network(request) or is_portal_admin(request.user)
