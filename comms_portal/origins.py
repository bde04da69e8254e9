"""The portal's own web origins: the websocket Origin check and the Content-Security-Policy.

An origin is scheme, host and port: https://portal.example.org, http://portal.example.org and
https://portal.example.org:8443 are three. Browsers write it without the scheme's default
port, so it is dropped here too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SOCKET_SCHEMES = {"http": "ws", "https": "wss"}


def origin_of(url: str, *, name: str) -> str:
    """Return the origin of the http(s) ``url`` that setting ``name`` holds."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name} must hold http:// or https:// addresses (scheme and host), not {url!r}."
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} holds an address with a bad port: {url!r}.") from None
    host = parts.hostname
    # urlsplit drops the brackets of an IPv6 address; an origin keeps them.
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def portal_origins(public_base_url: str, trusted_origins: list[str]) -> list[str]:
    """Return the origins browsers reach the portal at: its public address, then trusted ones."""
    origins = [origin_of(public_base_url, name="PUBLIC_BASE_URL")]
    origins += [origin_of(origin, name="CSRF_TRUSTED_ORIGINS") for origin in trusted_origins]
    return list(dict.fromkeys(origins))


def websocket_origins(origins: list[str]) -> list[str]:
    """Return the ws:// or wss:// counterpart of each http(s) origin."""
    sockets = []
    for origin in origins:
        scheme, rest = origin.split("://", 1)
        sockets.append(f"{_SOCKET_SCHEMES[scheme]}://{rest}")
    return sockets


def origin_patterns(origins: list[str]) -> list[str]:
    """Return ``origins`` as patterns of Channels' OriginValidator (".host": its subdomains)."""
    return [origin.replace("://*.", "://.", 1) for origin in origins]
