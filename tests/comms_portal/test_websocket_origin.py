"""Websockets open only from the portal's own origin: scheme, host and port, as browsers send it."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.security.websocket import OriginValidator
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from accounts.models import User
from comms_portal.asgi import application
from comms_portal.origins import origin_of, origin_patterns, portal_origins
from comms_portal.routing import websocket_urlpatterns

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio(loop_scope="session")]

# Any socket route will do: the origin is checked before routing.
SOCKET_PATH = "/" + str(websocket_urlpatterns[0].pattern)


def _other_origins() -> dict[str, str]:
    """Return origins that differ from the portal's own in one part each."""
    own = origin_of(settings.PUBLIC_BASE_URL, name="PUBLIC_BASE_URL")
    scheme, host_port = own.split("://")
    host, _, port = host_port.rpartition(":")
    return {
        "another port": f"{scheme}://{host}:{int(port or 80) + 1}",
        "another scheme": f"{'https' if scheme == 'http' else 'http'}://{host_port}",
        "another host, one the portal answers to": f"{scheme}://localhost:{port}",
        "another site": "https://attacker.example",
        "an opaque origin": "null",
    }


def _session_cookie() -> bytes:
    client = Client()
    adele, _ = User.objects.get_or_create(username="adele", display_name="Adele Vance")
    client.force_login(adele)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return f"{settings.SESSION_COOKIE_NAME}={session}".encode()


async def _opens(app: Any, origin: str | None) -> bool:
    """Return whether a signed-in page of ``origin`` gets its socket opened."""
    headers = [(b"cookie", await sync_to_async(_session_cookie)())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    communicator = WebsocketCommunicator(app, SOCKET_PATH, headers=headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return bool(connected)


async def test_a_page_of_the_portals_own_origin_may_open_a_socket() -> None:
    assert await _opens(application, origin_of(settings.PUBLIC_BASE_URL, name="PUBLIC_BASE_URL"))


@pytest.mark.parametrize("difference", list(_other_origins()))
async def test_a_page_of_another_origin_may_not(difference: str) -> None:
    assert not await _opens(application, _other_origins()[difference])


async def test_a_socket_without_an_origin_is_refused() -> None:
    assert not await _opens(application, None)


async def test_trusted_origins_may_open_sockets_too() -> None:
    async def anything(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})

    origins = portal_origins(
        "https://portal.example.org/", ["https://intranet.example.org:8443", "https://*.corp.test"]
    )
    validator = OriginValidator(anything, origin_patterns(origins))
    assert await _opens(validator, "https://portal.example.org")
    assert await _opens(validator, "https://intranet.example.org:8443")
    assert await _opens(validator, "https://teams.corp.test")
    assert not await _opens(validator, "https://intranet.example.org")
    assert not await _opens(validator, "http://portal.example.org")
