"""The wall on a phone: the filters fold behind one button, and the first screen shows people."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from comms_portal.stack import Stack
from tests.e2e.accessibility import sideways_overflow
from tests.e2e.conftest import PageWatch
from tests.e2e.signin import sign_in
from tests.support.cast import PRIYA

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def open_wall_as_cards(page: Page, stack: Stack) -> None:
    sign_in(page, stack.base_url, PRIYA, next_path="/people/")
    # Whatever view this person left, folded or not.
    if not page.locator('input[name="layout"][value="cards"]').is_checked():
        toggle = page.get_by_role("button", name="Filters and view")
        if toggle.get_attribute("aria-expanded") == "false":
            toggle.click()
        page.get_by_role("radio", name="Cards").check()
        expect(page.locator("ul.people-grid")).to_be_attached()
        page.reload()
    expect(page.locator("ul.people-grid [data-person-card]").first).to_be_attached()


@pytest.mark.usefixtures("directory_synced")
def test_on_a_phone_the_filters_fold_behind_one_button_and_people_show_on_the_first_screen(
    page: Page, live_stack: Stack, watch: PageWatch
) -> None:
    page.set_viewport_size(PHONE)
    open_wall_as_cards(page, live_stack)

    toggle = page.get_by_role("button", name="Filters and view")
    department = page.get_by_role("combobox", name="Department")
    sort = page.get_by_role("combobox", name="Sort by")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(department).to_be_hidden()
    expect(sort).to_be_hidden()
    # The search stays in reach.
    expect(page.get_by_role("searchbox", name="Search people")).to_be_visible()

    # The first screen, unscrolled, shows at least one person: name, availability, actions.
    # (A card's height depends on what they say about themselves, so not the whole card.)
    assert page.evaluate("() => window.scrollY") == 0
    first = page.locator("[data-person-card]").first
    for part in (".person-name", '[data-field="availability"]', "[data-actions]"):
        expect(first.locator(part)).to_be_in_viewport(ratio=1)
    expect(page.get_by_role("checkbox", name="Read out availability changes")).to_be_hidden()

    # The button opens and closes them by keyboard, and Tab goes on into what it opened.
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(department).to_be_visible()
    expect(sort).to_be_visible()
    expect(page.get_by_role("checkbox", name="Read out availability changes")).to_be_visible()
    page.keyboard.press("Tab")
    expect(department).to_be_focused()
    department.select_option(index=1)
    expect(toggle).to_contain_text("(1 on)")
    assert sideways_overflow(page) <= 0
    toggle.focus()
    page.keyboard.press(" ")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(department).to_be_hidden()
    expect(toggle).to_be_focused()
    assert watch.console_errors == []


@pytest.mark.usefixtures("directory_synced")
def test_on_a_wide_screen_every_filter_shows_and_no_button_folds_them(
    page: Page, live_stack: Stack
) -> None:
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_stack.base_url, PRIYA, next_path="/people/")
    expect(page.get_by_role("combobox", name="Department")).to_be_visible()
    expect(page.get_by_role("combobox", name="Sort by")).to_be_visible()
    expect(page.get_by_role("button", name="Filters and view")).to_be_hidden()
