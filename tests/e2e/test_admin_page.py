"""An admin opens the consent and connection health page from the navigation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from comms_portal.stack import Stack
from tests.e2e.conftest import PageWatch
from tests.e2e.signin import sign_in
from tests.support.cast import MEGAN

pytestmark = pytest.mark.e2e


def test_admin_opens_the_admin_page_from_the_navigation_and_sees_the_catalogue(
    page: Page, live_stack: Stack, watch: PageWatch
) -> None:
    sign_in(page, live_stack.base_url, MEGAN)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()

    page.wait_for_url(f"{live_stack.base_url}/admin-portal/")
    expect(page).to_have_title(re.compile("^Admin"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent and connection health")
    admin_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin")
    expect(admin_link).to_have_attribute("aria-current", "page")
    presence = page.locator("table", has=page.locator("caption", has_text="Presence"))
    app_presence = presence.locator(
        'tr[data-permission="Presence.Read.All"][data-kind="application"]'
    )
    expect(app_presence).to_contain_text("Granted")
    calls = page.locator("table", has=page.locator("caption", has_text="Calls"))
    expect(calls.locator('tr[data-permission="Calls.JoinGroupCallAsGuest.All"]')).to_contain_text(
        "Not granted"
    )
    # Megan herself signed in through the browser: her token is fine.
    expect(page.locator("#people-tokens")).to_contain_text("Megan Reyes")
    expect(page.locator("#people-tokens")).to_contain_text("Token fine")
    expect(page.get_by_role("link", name="Grant admin consent")).to_have_attribute(
        "href", "/admin-portal/grant-consent"
    )
    expect(page.get_by_role("list", name="Connection health").locator("li")).to_have_count(4)
    page.wait_for_load_state("networkidle")
    assert watch.console_errors == []
    assert watch.outside_requests == []
