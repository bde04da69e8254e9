"""People disabled or deleted in the tenant: signed out everywhere, kept out until enabled."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.models import SignedInSession, TokenCache, User
from comms_portal.live.consumer import CLOSE_UNAUTHENTICATED
from directory.sync import sync_directory
from tests.presence.engine_fixtures import (
    Control,
    point_settings_at,
    start_private_sandbox,
    user_id_of,
)
from tests.support.cast import GRACE, LENA, MARCUS
from tests.support.entra_signin import SignInFailed
from tests.support.live import open_socket, session_key_of, watch
from tests.support.portal_signin import callback_answer, sign_in_browser
from tests.support.sandbox import RunningSandbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio(loop_scope="session")]

CLOSED_DISABLED = {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED, "reason": "disabled"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A private sandbox: these tests disable and delete people."""
    running = start_private_sandbox(Path(tmp_path_factory.mktemp("leavers-sandbox")))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def on_private_sandbox(settings: SettingsWrapper, sandbox: RunningSandbox) -> None:
    point_settings_at(settings, sandbox)


@pytest.fixture
def control(sandbox: RunningSandbox) -> Iterator[Control]:
    client = Control(sandbox.info["control_url"])
    yield client
    client.close()


def cookie_of(browser: Client) -> bytes:
    name = django_settings.SESSION_COOKIE_NAME
    return f"{name}={browser.cookies[name].value}".encode()


def session_data(key: str) -> dict[str, Any]:
    store = import_module(django_settings.SESSION_ENGINE).SessionStore(session_key=key)
    data: dict[str, Any] = store.load()
    return data


def signed_in_and_synced(upn: str) -> tuple[Client, User]:
    sync_directory()
    return sign_in_browser(upn)


async def test_a_person_disabled_in_the_tenant_is_signed_out_and_kept_out_until_enabled(
    control: Control,
) -> None:
    browser, lena = await sync_to_async(signed_in_and_synced)(LENA)
    cookie = cookie_of(browser)
    socket = await open_socket(cookie)
    try:
        assert await watch(socket, []) == {"type": "watching", "count": 0}
        await sync_to_async(control)("POST", f"/users/{lena.object_id}", {"accountEnabled": False})

        await sync_to_async(sync_directory)()

        # Her open page is closed at once, her sessions and tokens are gone.
        assert await socket.receive_output(timeout=5) == CLOSED_DISABLED
        await sync_to_async(lena.refresh_from_db)()
        assert not lena.is_active
        assert await sync_to_async(session_data)(session_key_of(cookie)) == {}
        assert not await sync_to_async(SignedInSession.objects.filter(user=lena).exists)()
        assert not await sync_to_async(TokenCache.objects.filter(user=lena).exists)()
        page = await sync_to_async(browser.get)("/people/")
        assert page.status_code == 302 and page["Location"].startswith("/accounts/signin/")
    finally:
        await socket.disconnect()

    def try_signing_in() -> None:
        # The tenant itself refuses a disabled account at its sign-in page.
        with pytest.raises(SignInFailed, match="This account has been disabled"):
            callback_answer(Client(), LENA)

        # Enabled again, but the portal has not synced yet: it refuses, and says why.
        control("POST", f"/users/{lena.object_id}", {"accountEnabled": True})
        again = Client()
        refused = again.post("/accounts/callback", callback_answer(again, LENA))
        assert refused.status_code == 403
        text = refused.content.decode()
        assert "Sign-in did not complete" in text
        assert "Your account is disabled in your organisation&#x27;s directory" in text
        assert not TokenCache.objects.filter(user=lena).exists()
        assert "_auth_user_id" not in again.session

        # Once the directory says she is back, she signs in as before.
        sync_directory()
        lena.refresh_from_db()
        assert lena.is_active
        welcome, _ = sign_in_browser(LENA)
        assert welcome.get("/people/").status_code == 200

    try:
        await sync_to_async(try_signing_in)()
    finally:
        await sync_to_async(control)("POST", f"/users/{lena.object_id}", {"accountEnabled": True})


async def test_a_person_deleted_from_the_tenant_is_signed_out_everywhere(
    control: Control,
) -> None:
    laptop, marcus = await sync_to_async(signed_in_and_synced)(MARCUS)
    phone, _ = await sync_to_async(sign_in_browser)(MARCUS)
    sockets = [await open_socket(cookie_of(browser)) for browser in (laptop, phone)]
    try:
        for socket in sockets:
            assert await watch(socket, []) == {"type": "watching", "count": 0}
        await sync_to_async(control)("DELETE", f"/users/{marcus.object_id}")

        result = await sync_to_async(sync_directory)()

        assert result.removed == 1
        for socket in sockets:
            assert await socket.receive_output(timeout=5) == CLOSED_DISABLED
        await sync_to_async(marcus.refresh_from_db)()
        assert not marcus.is_active and not marcus.is_portal_admin
        for browser in (laptop, phone):
            assert await sync_to_async(session_data)(session_key_of(cookie_of(browser))) == {}
        assert not await sync_to_async(TokenCache.objects.filter(user=marcus).exists)()
    finally:
        for socket in sockets:
            await socket.disconnect()


async def test_disabling_someone_else_leaves_a_signed_in_person_alone(
    sandbox: RunningSandbox, control: Control
) -> None:
    browser, lena = await sync_to_async(signed_in_and_synced)(LENA)
    socket = await open_socket(cookie_of(browser))
    grace = user_id_of(sandbox.info, GRACE)
    try:
        await watch(socket, [])
        await sync_to_async(control)("POST", f"/users/{grace}", {"accountEnabled": False})
        await sync_to_async(sync_directory)()
        assert await socket.receive_nothing(timeout=0.5)
        assert await watch(socket, []) == {"type": "watching", "count": 0}
        await sync_to_async(lena.refresh_from_db)()
        assert lena.is_active
    finally:
        await socket.disconnect()
        await sync_to_async(control)("POST", f"/users/{grace}", {"accountEnabled": True})
