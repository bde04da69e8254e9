"""Every page on phones and desktops: no serious axe findings, no sideways scroll, no broken
ARIA references; focus stays where the person acted; errors are linked to their fields."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from comms_portal.stack import Stack
from tests.e2e.accessibility import (
    axe_source,
    missing_references,
    serious_violations,
    sideways_overflow,
    too_wide,
)
from tests.e2e.signin import sign_in
from tests.support.cast import MEGAN

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
NARROW = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 900}

AXE_PAGES = {
    "wall (cards)": "/people/?layout=cards",
    "wall (list)": "/people/?layout=list",
    "person": "PERSON",
    "my status": "/people/me/status/",
    "admin": "/admin-portal/",
    "call quality": "/call-quality/",
    "my calls": "/call-quality/mine/",
    "buildings": "/call-quality/buildings/",
    "pstn usage": "/call-quality/pstn/",
}
ALL_PAGES = {
    **AXE_PAGES,
    "wall (filters open)": "FILTERS",
    "home": "/",
    "alerts": "/people/alerts/",
    "time zone": "/accounts/time-zone/",
    "meetings": "/meetings/",
    "events": "/events/",
    "status page": "/status/",
}


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


@pytest.fixture
def signed_in(browser: Browser, live_stack: Stack, directory_synced: None) -> Iterator[Page]:
    """An admin's browser (CSP bypassed so axe can be injected), signed in."""
    context = browser.new_context(base_url=live_stack.base_url, bypass_csp=True)
    page = context.new_page()
    sign_in(page, live_stack.base_url, MEGAN, next_path="/people/")
    yield page
    context.close()


def open_filters(page: Page) -> None:
    """Unfold the wall's filters where a narrow screen folds them."""
    toggle = page.get_by_role("button", name="Filters and view")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false":
        toggle.click()
        expect(page.get_by_role("combobox", name="Department")).to_be_visible()


def open_page(page: Page, name: str, path: str) -> None:
    if path == "FILTERS":
        page.goto("/people/")
        open_filters(page)
    elif path == "PERSON":
        page.goto("/people/")
        name_links = "[data-person-card] .person-name a, [data-person-card] .cell-name a"
        page.locator(name_links).first.click()
    else:
        page.goto(path)
        if name.startswith("wall"):
            layout = "list" if "list" in name else "cards"
            open_filters(page)
            page.get_by_role("radio", name=layout.capitalize()).check()
            page.goto(path)
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_people_and_admin_pages_have_no_serious_accessibility_violations(
    signed_in: Page, axe: str, viewport: dict[str, int]
) -> None:
    signed_in.set_viewport_size(viewport)
    found = {}
    for name, path in AXE_PAGES.items():
        open_page(signed_in, name, path)
        violations = serious_violations(signed_in, axe)
        if violations:
            found[name] = violations
    assert found == {}


def test_no_page_scrolls_sideways_at_320px_or_names_a_missing_id(signed_in: Page) -> None:
    signed_in.set_viewport_size(NARROW)
    overflow, missing = {}, {}
    for name, path in ALL_PAGES.items():
        open_page(signed_in, name, path)
        if (extra := sideways_overflow(signed_in)) > 0:
            overflow[name] = (extra, too_wide(signed_in))
        if absent := missing_references(signed_in):
            missing[name] = absent
    assert overflow == {}
    assert missing == {}


def test_status_message_error_takes_focus_and_is_linked_to_its_field(signed_in: Page) -> None:
    signed_in.goto("/people/me/status/")
    message = signed_in.get_by_role("textbox", name="Status message")
    message.fill("")
    signed_in.get_by_role("button", name="Set message").click()
    signed_in.wait_for_load_state()

    message = signed_in.get_by_role("textbox", name="Status message")
    expect(message).to_be_focused()
    expect(message).to_have_attribute("aria-invalid", "true")
    expect(message).to_have_accessible_description(
        re.compile("Write a message, or use “Clear message” to remove yours.")
    )
    assert missing_references(signed_in) == []


def test_focus_stays_on_set_availability_after_the_page_reloads(signed_in: Page) -> None:
    signed_in.goto("/people/me/status/")
    button = signed_in.get_by_role("button", name="Set availability")
    button.focus()
    signed_in.keyboard.press("Enter")
    signed_in.wait_for_load_state()
    expect(signed_in.get_by_role("button", name="Set availability")).to_be_focused()


def test_focus_stays_on_the_person_pages_bell_after_it_is_pressed(signed_in: Page) -> None:
    open_page(signed_in, "person", "PERSON")
    bell = signed_in.locator("form.alert-form [data-alert-button]")
    pressed = bell.get_attribute("aria-pressed")
    bell.focus()
    signed_in.keyboard.press("Enter")
    expect(bell).not_to_have_attribute("aria-pressed", pressed or "")
    expect(bell).to_be_focused()


def test_focus_stays_on_apply_on_the_wall(signed_in: Page) -> None:
    signed_in.goto("/people/")
    apply = signed_in.get_by_role("button", name="Apply")
    apply.focus()
    signed_in.keyboard.press("Enter")
    signed_in.wait_for_load_state("networkidle")
    expect(apply).to_be_focused()
