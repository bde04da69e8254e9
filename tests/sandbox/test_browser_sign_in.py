"""A real browser signs in on the sandbox's pages; MSAL redeems the code it brings back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Browser

from tests.sandbox.conftest import PRIYA, msal_app
from tests.support.sandbox import RunningSandbox


class _Callback(BaseHTTPRequestHandler):
    received: list[dict[str, str]]

    def _store(self, params: dict[str, str]) -> None:
        self.received.append(params)
        body = b"<!DOCTYPE html><title>Signed in</title><p>Signed in</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if not self.path.startswith("/accounts/callback"):
            self.send_error(404)  # the browser also asks for /favicon.ico
            return
        self._store(dict(parse_qsl(urlsplit(self.path).query)))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self._store(dict(parse_qsl(self.rfile.read(length).decode())))

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def callback() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A loopback receiver at /accounts/callback that records what the browser brings."""
    received: list[dict[str, str]] = []
    handler = type("Callback", (_Callback,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/accounts/callback", received
    server.shutdown()
    server.server_close()


def test_person_signs_in_with_a_browser_and_msal_redeems_the_code(
    sandbox: RunningSandbox, callback: tuple[str, list[dict[str, str]]], browser: Browser
) -> None:
    redirect_uri, received = callback
    app = msal_app(sandbox)
    scopes = ["https://graph.microsoft.com/User.Read", "https://graph.microsoft.com/Presence.Read"]
    flow = app.initiate_auth_code_flow(scopes, redirect_uri=redirect_uri, response_mode="form_post")
    # The browser reaches the sign-in page over plain http: no certificate warning.
    assert flow["auth_uri"].startswith(sandbox.info["http_base_url"])
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(flow["auth_uri"])
        page.fill("input[name=loginfmt]", PRIYA)
        page.fill("input[name=passwd]", "wrong password")
        page.click("button[type=submit]")
        assert "incorrect" in page.locator("[role=alert]").inner_text()
        page.fill("input[name=passwd]", sandbox.info["demo_password"])
        page.click("#idSIButton9")
        page.click("#idBtn_Accept")
        page.wait_for_url(redirect_uri)
        assert "Signed in" in page.content()
    finally:
        context.close()
    assert len(received) == 1 and received[0]["state"] == flow["state"]
    result = app.acquire_token_by_auth_code_flow(flow, received[0])
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == PRIYA
