"""Signing in through the sandbox's real sign-in pages, in the browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from tests.support.cast import DEMO_PASSWORD


def submit_credentials(page: Page, upn: str, password: str = DEMO_PASSWORD) -> None:
    """Fill Microsoft's sign-in form and send it."""
    page.fill("input[name=loginfmt]", upn)
    page.fill("input[name=passwd]", password)
    page.click("#idSIButton9")
    page.wait_for_load_state()


def sign_in(
    page: Page, base_url: str, upn: str, *, next_path: str = "/", consent: str = "accept"
) -> None:
    """Sign in as ``upn``, answering the consent page if it is shown, and land on the portal."""
    page.goto(f"{base_url}/accounts/signin/?next={next_path}")
    page.wait_for_selector("input[name=loginfmt]")
    submit_credentials(page, upn)
    portal = re.compile("^" + re.escape(base_url))
    consent_page = page.locator("#idBtn_Accept")
    # Either the consent page shows, or the answer goes straight back to the portal.
    for _ in range(150):
        if portal.match(page.url):
            break
        if consent_page.is_visible():
            page.click("#idBtn_Accept" if consent == "accept" else "#idBtn_Back")
            break
        page.wait_for_timeout(100)
    page.wait_for_url(portal)
    page.wait_for_load_state()
