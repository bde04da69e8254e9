"""The Graph client of the calling bot: its own app registration's client-credential tokens."""

from __future__ import annotations

import threading
import time
from functools import cache

import msal
import requests
from django.conf import settings

from accounts.graph_errors import GraphErrorRecorder
from comms_portal.graph import GraphClient
from comms_portal.graph_settings import portal_graph_settings
from comms_portal.metrics.counters import count_graph_exchange

GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]
EXPIRY_MARGIN_SECONDS = 120


class BotTokenUnavailable(Exception):
    """The authority did not give the bot a token."""


@cache
def _msal_app() -> msal.ConfidentialClientApplication:
    session = requests.Session()
    session.trust_env = False
    session.verify = settings.GRAPH_CA_BUNDLE or True
    return msal.ConfidentialClientApplication(
        settings.CALLS_BOT_APP_ID,
        client_credential=settings.CALLS_BOT_CLIENT_SECRET,
        authority=settings.MICROSOFT_AUTHORITY,
        http_client=session,
        instance_discovery=False,
        timeout=10,
    )


class BotTokens:
    """The bot's app-only tokens, kept in memory until shortly before they expire."""

    _lock = threading.Lock()

    def __init__(self) -> None:
        self._value = ""
        self._expires_at = 0.0

    def __call__(self) -> str:
        with self._lock:
            if not self._value or time.monotonic() > self._expires_at - EXPIRY_MARGIN_SECONDS:
                self._fetch()
            return self._value

    def refresh(self) -> str:
        with self._lock:
            self._fetch()
            return self._value

    def _fetch(self) -> None:
        result = _msal_app().acquire_token_for_client(scopes=GRAPH_DEFAULT)
        if not result or "access_token" not in result:
            error = (result or {}).get("error_description", "no answer")
            raise BotTokenUnavailable(str(error))
        self._value = str(result["access_token"])
        self._expires_at = time.monotonic() + float(result.get("expires_in") or 300)


_tokens = BotTokens()


def graph_for_bot() -> GraphClient:
    """Return a Graph client acting as the calling bot (application permissions)."""
    return GraphClient(
        portal_graph_settings(),
        _tokens,
        on_error=GraphErrorRecorder("calling-bot"),
        on_exchange=count_graph_exchange,
    )


def warm_up_bot() -> None:
    """Open the bot's Graph client and fetch its token now, before a caller waits for them."""
    graph_for_bot()
    _tokens()
