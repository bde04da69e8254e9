"""Ready Graph clients for services and Celery tasks: as a person, or as the app."""

from __future__ import annotations

import time

from accounts.graph_errors import APP_CALLER, GraphErrorRecorder
from accounts.identity import SIGN_IN_SCOPES
from accounts.token_store import AccessToken, acquire_app_token, acquire_user_token
from comms_portal.graph import GraphClient
from comms_portal.graph_settings import portal_graph_settings
from comms_portal.metrics.counters import count_graph_exchange

# Renew an access token this long before it expires, so a call never starts on a dying one.
EXPIRY_MARGIN_SECONDS = 120


class _CachedTokens:
    """Keep the last access token in memory until shortly before it expires."""

    def __init__(self) -> None:
        self._token: AccessToken | None = None

    def _fresh(self) -> str | None:
        token = self._token
        if token and time.monotonic() < token.expires_at - EXPIRY_MARGIN_SECONDS:
            return token.value
        return None

    def _fetch(self, *, force_refresh: bool) -> AccessToken:
        raise NotImplementedError

    def __call__(self) -> str:
        value = self._fresh()
        if value is None:
            self._token = self._fetch(force_refresh=False)
            value = self._token.value
        return value

    def refresh(self) -> str:
        """Get a new token even if the cached one looks valid (Graph answered 401)."""
        self._token = self._fetch(force_refresh=True)
        return self._token.value


class UserTokens(_CachedTokens):
    """Delegated tokens of one person, from the encrypted token store."""

    def __init__(self, user_id: int, scopes: list[str]) -> None:
        super().__init__()
        self.user_id = user_id
        self.scopes = scopes

    def _fetch(self, *, force_refresh: bool) -> AccessToken:
        return acquire_user_token(self.user_id, self.scopes, force_refresh=force_refresh)


class AppTokens(_CachedTokens):
    """The app's own client-credential tokens."""

    def _fetch(self, *, force_refresh: bool) -> AccessToken:
        return acquire_app_token(force_refresh=force_refresh)


def graph_for_user(
    user_id: int, scopes: list[str] | None = None, *, beta: bool = False
) -> GraphClient:
    """Return a Graph client acting as the person ``user_id`` (delegated permissions)."""
    return GraphClient(
        portal_graph_settings(beta=beta),
        UserTokens(user_id, scopes or SIGN_IN_SCOPES),
        on_error=GraphErrorRecorder(str(user_id)),
        on_exchange=count_graph_exchange,
    )


def graph_for_app(*, beta: bool = False) -> GraphClient:
    """Return a Graph client acting as the portal itself (application permissions)."""
    return GraphClient(
        portal_graph_settings(beta=beta),
        AppTokens(),
        on_error=GraphErrorRecorder(APP_CALLER),
        on_exchange=count_graph_exchange,
    )
