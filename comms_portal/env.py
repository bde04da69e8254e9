"""Typed reading of environment variables, failing loudly on nonsense.

Every setting of the portal is read through these functions, so a bad value stops the
process at start with a message naming the variable, and the README test can find every
variable by name.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Env:
    """Read variables from a mapping (``os.environ`` by default) with defaults."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def text(self, name: str, default: str) -> str:
        """Return the variable as text, or ``default`` when unset or blank."""
        value = self._raw(name)
        return default if value is None else value

    def flag(self, name: str, default: bool) -> bool:
        """Return the variable as a boolean (1/0, true/false, yes/no, on/off)."""
        value = self._raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")

    def number(self, name: str, default: int, *, minimum: int | None = None) -> int:
        """Return the variable as an integer, at least ``minimum``."""
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
        return number

    def items(self, name: str, default: list[str]) -> list[str]:
        """Return a comma-separated variable as a list of non-empty items."""
        value = self._raw(name)
        if value is None:
            return list(default)
        return [item.strip() for item in value.split(",") if item.strip()]

    def url(self, name: str, default: str, *, schemes: tuple[str, ...]) -> str:
        """Return the variable as a URL whose scheme is one of ``schemes``."""
        value = self.text(name, default)
        parts = urlsplit(value)
        if parts.scheme not in schemes or not (parts.netloc or parts.path):
            allowed = ", ".join(f"{scheme}://" for scheme in schemes)
            raise ImproperlyConfigured(f"{name} must be a URL starting with {allowed}: {value!r}.")
        return value.rstrip("/")

    def networks(self, name: str, default: list[str]) -> list[IPNetwork]:
        """Return comma-separated CIDR networks (``10.0.0.0/8,::1/128``); ``none`` for none."""
        items = self.items(name, default)
        if [item.lower() for item in items] == ["none"]:
            return []
        networks: list[IPNetwork] = []
        for item in items:
            try:
                networks.append(ipaddress.ip_network(item))
            except ValueError as error:
                raise ImproperlyConfigured(
                    f"{name} must be comma-separated networks such as 10.0.0.0/8 or ::1/128 "
                    f"(or none): {error}."
                ) from None
        return networks

    def path(self, name: str, default: Path) -> Path:
        """Return the variable as a filesystem path."""
        value = self._raw(name)
        return default if value is None else Path(value).expanduser()


def database_from_url(
    url: str, *, name: str = "DATABASE_URL", pool_size: int = 10
) -> dict[str, object]:
    """Turn ``postgres://user:pass@host:port/db`` or ``sqlite:///path`` into Django's form."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path, as most tools write it.
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not path:
            raise ImproperlyConfigured(f"{name} names no SQLite file: {url!r}.")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "OPTIONS": {
                # Several processes (web, worker, beat) write to one file: wait for the lock
                # rather than failing, and let readers work while a writer commits.
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise ImproperlyConfigured(f"{name} names no database: {url!r}.")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": database,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            # A bounded pool per process: under ASGI every concurrent request may run in a
            # thread of its own, and without a pool each would open (and keep) a connection
            # until the server refuses more. Pooling requires CONN_MAX_AGE = 0.
            "CONN_MAX_AGE": 0,
            "OPTIONS": {"pool": {"min_size": 1, "max_size": pool_size, "timeout": 30}},
        }
    raise ImproperlyConfigured(
        f"{name} must start with postgres:// or sqlite:///, not {parts.scheme or url!r}."
    )
