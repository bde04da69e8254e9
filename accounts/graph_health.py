"""Whether Graph works for the portal's app: its credentials and its permission to read."""

from __future__ import annotations

import httpx
import requests
from django.conf import settings

from accounts.identity import AuthorityUnreachable
from accounts.token_store import TokenUnavailable, acquire_app_token
from comms_portal.graph import shared_http_client
from comms_portal.graph_settings import portal_graph_settings
from comms_portal.health import PartState

CREDENTIALS_REFUSED = (
    "the portal's app credentials were refused: check the client secret "
    "(MICROSOFT_CLIENT_SECRET) and the client id (MICROSOFT_CLIENT_ID)"
)
# What the authority answers when the client id or secret is wrong (OAuth 2.0, RFC 6749 5.2).
_REFUSED_CLIENT = ("invalid_client", "unauthorized_client")


def check_graph_as_app() -> PartState:
    """Read one user as the portal's app, and say in words what any failure means."""
    try:
        token = acquire_app_token()
    except TokenUnavailable as failure:
        if str(failure).startswith(_REFUSED_CLIENT):
            return PartState("graph", False, CREDENTIALS_REFUSED)
        return PartState("graph", False, f"the portal could not get a token for Graph: {failure}")
    except (AuthorityUnreachable, requests.RequestException) as failure:
        return PartState("graph", False, f"the sign-in authority could not be reached: {failure}")
    try:
        # https://learn.microsoft.com/graph/api/user-list (the directory sync's own permission)
        response = shared_http_client(portal_graph_settings()).get(
            f"{settings.GRAPH_BASE_URL}/users",
            params={"$top": "1", "$select": "id"},
            headers={"Authorization": f"Bearer {token.value}"},
            timeout=2.0,
        )
    except httpx.HTTPError as failure:
        return PartState("graph", False, f"Graph could not be reached: {type(failure).__name__}")
    code = response.status_code
    if code == 401:
        return PartState("graph", False, CREDENTIALS_REFUSED)
    if code == 403:
        return PartState(
            "graph",
            False,
            "Graph refused the portal's app the permission to read people (User.Read.All): "
            "grant admin consent",
        )
    if code == 429:
        return PartState("graph", True, "Graph is up but asks the portal to slow down (HTTP 429)")
    if code >= 400:
        return PartState("graph", False, f"Graph answered the portal's app with HTTP {code}")
    return PartState("graph", True, f"answers the portal's app at {settings.GRAPH_BASE_URL}")
