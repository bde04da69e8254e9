"""The main navigation reaches Meetings and Events by keyboard, at desktop and phone widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from comms_portal.stack import Stack
from tests.e2e.conftest import PageWatch
from tests.e2e.signin import sign_in
from tests.support.cast import PRIYA

pytestmark = pytest.mark.e2e

# More Tab presses than any page here has stops before its main content.
MAX_TABS = 40


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user would."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


def follow_by_keyboard(page: Page, target: Locator) -> None:
    tab_to(page, target)
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def assert_no_sideways_scrolling(page: Page) -> None:
    scroll_width, client_width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll_width <= client_width


def test_nav_reaches_meetings_and_events_by_keyboard_and_marks_the_current_page(
    page: Page, live_stack: Stack, watch: PageWatch
) -> None:
    sign_in(page, live_stack.base_url, PRIYA)
    nav = page.get_by_role("navigation", name="Main")

    follow_by_keyboard(page, nav.get_by_role("link", name="Meetings"))
    expect(page).to_have_url(f"{live_stack.base_url}/meetings/")
    expect(page).to_have_title(re.compile("^Meetings"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My meetings")
    expect(page.get_by_role("heading", name="Find a meeting")).to_be_visible()
    expect(nav.locator("[aria-current=page]")).to_have_text("Meetings")

    follow_by_keyboard(page, nav.get_by_role("link", name="Events"))
    expect(page).to_have_url(f"{live_stack.base_url}/events/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Webinars and town halls")
    expect(nav.locator("[aria-current=page]")).to_have_text("Events")

    follow_by_keyboard(page, nav.get_by_role("link", name="People"))
    expect(page).to_have_url(f"{live_stack.base_url}/people/")
    expect(nav.locator("[aria-current=page]")).to_have_text("People")
    page.wait_for_load_state("networkidle")
    assert watch.console_errors == []
    assert watch.outside_requests == []


def test_on_a_320_pixel_screen_the_menu_opens_by_keyboard_and_nothing_scrolls_sideways(
    page: Page, live_stack: Stack, watch: PageWatch
) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    sign_in(page, live_stack.base_url, PRIYA, next_path="/meetings/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My meetings")
    assert_no_sideways_scrolling(page)

    menu = page.get_by_role("button", name="Menu")
    follow_by_keyboard(page, menu)
    expect(menu).to_have_attribute("aria-expanded", "true")
    nav = page.get_by_role("navigation", name="Main")
    assert_no_sideways_scrolling(page)

    follow_by_keyboard(page, nav.get_by_role("link", name="Events"))
    expect(page).to_have_url(f"{live_stack.base_url}/events/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Webinars and town halls")
    assert_no_sideways_scrolling(page)
    page.wait_for_load_state("networkidle")
    assert watch.console_errors == []
    assert watch.outside_requests == []
