"""The people picker in a real browser on the whole stack: the header's "Find a person" box
and a multi-select picker as a meeting or event form uses it, both by keyboard alone."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.template import engines
from django.test import RequestFactory
from playwright.sync_api import Locator, Page, Route, ViewportSize, expect

from accounts.context_processors import PortalUser
from comms_portal.stack import Stack
from tests.e2e.conftest import PageWatch
from tests.e2e.signin import sign_in
from tests.support.cast import PRIYA, SAMUEL, TOMAS
from tests.support.session_sandbox import control

pytestmark = pytest.mark.e2e

PHONE: ViewportSize = {"width": 320, "height": 640}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SEARCH_TIMEOUT_MS = 10_000
FORM_PATH = "/picker-form/"
# A form as meetings and events will have it, rendered from the real include and base layout;
# the browser gets it through request routing, so production routes gain no test page.
FORM_PAGE = (
    '{% extends "base.html" %}{% block content %}<h1>New meeting</h1>'
    '<form method="post" action="/nowhere/">'
    '{% include "directory/_people_picker.html" with picker_id="attendees" label="Attendees" '
    'mode="multi" field_name="attendees" '
    'help="Type a name or e-mail address, then choose with the arrow keys and Enter." only %}'
    '<button class="button button-primary" type="submit">Create meeting</button>'
    "</form>{% endblock %}"
)


def user_id(upn: str) -> str:
    info = control("GET", "/info").json()
    return str(next(u["id"] for u in info["users"] if u["userPrincipalName"] == upn))


def find_a_person(page: Page) -> Locator:
    return page.get_by_role("combobox", name="Find a person")


def fits_the_width(page: Page) -> bool:
    scroll_width, client_width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return bool(scroll_width <= client_width)


def open_form_page(page: Page, stack: Stack) -> None:
    """Sign in as Tomas and open the form with the multi-select picker."""
    html = (
        engines["django"]
        .from_string(FORM_PAGE)
        .render(
            {
                "portal_user": PortalUser(
                    display_name="Tomas Lindqvist",
                    initials="TL",
                    is_portal_admin=False,
                    needs_reauth=False,
                )
            },
            request=RequestFactory().get(FORM_PATH),
        )
    )

    def serve(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html", body=html)

    page.route(f"{stack.base_url}{FORM_PATH}", serve)
    sign_in(page, stack.base_url, TOMAS, next_path="/")
    page.goto(FORM_PATH)
    expect(page.get_by_role("heading", name="New meeting")).to_be_visible()


def test_part_of_a_name_then_down_and_enter_opens_that_persons_page(
    page: Page, watch: PageWatch, live_stack: Stack
) -> None:
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_stack.base_url, TOMAS, next_path="/")
    box = find_a_person(page)
    expect(box).to_have_attribute("aria-expanded", "false")

    box.click()
    page.keyboard.type("priya nat")
    priya = page.get_by_role("option", name=re.compile("^Priya Natarajan"))
    expect(priya).to_be_visible(timeout=SEARCH_TIMEOUT_MS)
    expect(priya).to_contain_text("Head of Engineering")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("status").filter(has_text="1 person found.")).to_have_count(1)
    assert fits_the_width(page)

    page.keyboard.press("ArrowDown")
    expect(priya).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", str(priya.get_attribute("id")))
    page.keyboard.press("Enter")

    page.wait_for_url(f"{live_stack.base_url}/people/{user_id(PRIYA)}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Priya Natarajan")
    assert watch.console_errors == []
    assert watch.outside_requests == []


def test_an_email_address_finds_the_person(page: Page, watch: PageWatch, live_stack: Stack) -> None:
    sign_in(page, live_stack.base_url, PRIYA, next_path="/people/me/status/")
    box = find_a_person(page)
    box.fill(SAMUEL.split("@")[0] + "@lumen")

    samuel = page.get_by_role("option", name=re.compile("^Samuel Ortega"))
    expect(samuel).to_be_visible(timeout=SEARCH_TIMEOUT_MS)
    expect(page.get_by_role("listbox", name="People found").get_by_role("option")).to_have_count(1)
    samuel.click()
    page.wait_for_url(f"{live_stack.base_url}/people/{user_id(SAMUEL)}/")
    assert watch.console_errors == []


def test_no_match_is_shown_and_announced_and_escape_closes_then_clears(
    page: Page, watch: PageWatch, live_stack: Stack
) -> None:
    sign_in(page, live_stack.base_url, TOMAS, next_path="/")
    box = find_a_person(page)
    box.fill("qqzx")

    message = page.get_by_text("No one matches “qqzx”.", exact=True)
    expect(message.first).to_be_visible(timeout=SEARCH_TIMEOUT_MS)
    expect(page.get_by_role("status").filter(has_text="No one matches “qqzx”.")).to_have_count(1)
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("listbox", name="People found").get_by_role("option")).to_have_count(0)

    page.keyboard.press("Escape")
    expect(message.first).to_be_hidden()
    expect(box).to_have_value("qqzx")
    page.keyboard.press("Escape")
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    assert watch.console_errors == []


def test_the_header_search_fits_a_phone_and_works_there(
    page: Page, watch: PageWatch, live_stack: Stack
) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, live_stack.base_url, TOMAS, next_path="/")
    page.get_by_role("button", name="Menu").click()
    box = find_a_person(page)
    expect(box).to_be_visible()
    box.fill("lindqvist")
    tomas = page.get_by_role("option", name=re.compile("^Tomas Lindqvist"))
    expect(tomas).to_be_visible(timeout=SEARCH_TIMEOUT_MS)
    assert fits_the_width(page)

    # Escape closes the list, not the menu around it.
    page.keyboard.press("Escape")
    expect(tomas).to_be_hidden()
    expect(box).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(tomas).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_stack.base_url}/people/{user_id(TOMAS)}/")
    assert fits_the_width(page)
    assert watch.console_errors == []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_multi_select_adds_and_removes_people_by_keyboard(
    page: Page, watch: PageWatch, live_stack: Stack, viewport: ViewportSize
) -> None:
    page.set_viewport_size(viewport)
    open_form_page(page, live_stack)
    box = page.get_by_role("combobox", name="Attendees")
    chosen = page.locator('input[type="hidden"][name="attendees"]')
    status = page.locator("[data-picker-status]").last

    box.click()
    page.keyboard.type("lindq")
    expect(page.get_by_role("option", name=re.compile("^Tomas Lindqvist"))).to_be_visible(
        timeout=SEARCH_TIMEOUT_MS
    )
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Remove Tomas Lindqvist")).to_be_visible()
    expect(chosen).to_have_value(user_id(TOMAS))
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    expect(status).to_have_text("Tomas Lindqvist added; 1 person chosen.")

    page.keyboard.type("priya")
    expect(page.get_by_role("option", name=re.compile("^Priya Natarajan"))).to_be_visible(
        timeout=SEARCH_TIMEOUT_MS
    )
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(chosen).to_have_value(f"{user_id(TOMAS)},{user_id(PRIYA)}")
    expect(status).to_have_text("Priya Natarajan added; 2 people chosen.")
    assert fits_the_width(page)

    # Someone already chosen is marked so, and picking them again adds nothing.
    page.keyboard.type("lindq")
    tomas = page.get_by_role("option", name=re.compile("^Tomas Lindqvist"))
    expect(tomas).to_contain_text("Already chosen", timeout=SEARCH_TIMEOUT_MS)
    expect(tomas).to_have_attribute("aria-disabled", "true")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(status).to_have_text("Tomas Lindqvist is already chosen.")
    expect(page.get_by_role("button", name=re.compile("^Remove "))).to_have_count(2)

    # Enter in the text box never submits the form around it.
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    assert urlsplit(page.url).path == FORM_PATH

    # Tab reaches the chips; removing one keeps focus among them, the last returns it.
    page.keyboard.press("Tab")
    remove_tomas = page.get_by_role("button", name="Remove Tomas Lindqvist")
    expect(remove_tomas).to_be_focused()
    page.keyboard.press("Enter")
    expect(remove_tomas).to_have_count(0)
    expect(chosen).to_have_value(user_id(PRIYA))
    remove_priya = page.get_by_role("button", name="Remove Priya Natarajan")
    expect(remove_priya).to_be_focused()
    expect(status).to_have_text("Tomas Lindqvist removed; 1 person chosen.")
    page.keyboard.press("Space")
    expect(chosen).to_have_value("")
    expect(box).to_be_focused()
    expect(status).to_have_text("Priya Natarajan removed; 0 people chosen.")
    expect(page.get_by_role("list", name="Chosen: Attendees")).to_be_hidden()
    assert watch.console_errors == []
    assert watch.outside_requests == []
