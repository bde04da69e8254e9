"""What screen readers are told without looking: messages present at load, presence changes
of the people one follows (when asked for), and the state of a toggle kept under the finger."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from comms_portal.stack import Stack
from tests.e2e.conftest import PageWatch
from tests.e2e.signin import sign_in
from tests.e2e.test_presence_wall import PUSH_TIMEOUT_MS, force_presence
from tests.support.cast import GRACE, LENA, PRIYA
from tests.support.session_sandbox import control

pytestmark = pytest.mark.e2e

CARDS = "**/people/cards?*"

# Records, from the first byte of every page, what the page's announcer held when the page
# had loaded and every text it was given after.
RECORD_ANNOUNCER = """
window.announcerSeen = { atLoad: null, said: [] };
document.addEventListener("DOMContentLoaded", function () {
  const region = document.querySelector("[data-page-announcer]");
  if (!region) { return; }
  window.announcerSeen.atLoad = region.textContent;
  new MutationObserver(function () {
    if (region.textContent) { window.announcerSeen.said.push(region.textContent); }
  }).observe(region, { childList: true, characterData: true, subtree: true });
});
"""


def announcer_seen(page: Page) -> dict[str, Any]:
    seen: dict[str, Any] = page.evaluate("() => window.announcerSeen")
    return seen


@pytest.mark.usefixtures("directory_synced")
def test_a_success_message_present_at_load_is_read_out_after_the_page_loads(
    page: Page, live_stack: Stack, watch: PageWatch
) -> None:
    page.add_init_script(RECORD_ANNOUNCER)
    sign_in(page, live_stack.base_url, GRACE, next_path="/people/me/status/")
    page.get_by_role("radio", name="Remote").check()
    page.get_by_role("button", name="Set work location").click()
    page.wait_for_load_state()

    done = "Your work location is updated."
    # The message is on the page as it loads, but live regions speak only of changes: it is
    # put into the page's polite region after the load, once the region was there empty.
    expect(page.locator("[data-flash]")).to_contain_text(done)
    announcer = page.locator("[data-page-announcer]")
    expect(announcer).to_have_attribute("role", "status")
    expect(announcer).to_have_text(done)
    seen = announcer_seen(page)
    assert seen["atLoad"] == ""
    assert seen["said"][-1] == done
    assert watch.console_errors == []


@pytest.fixture
def lena_held_busy(live_stack: Stack) -> Iterator[None]:
    """The simulator paused, with Lena Busy, so only the test changes her presence."""
    control("POST", "/presence/pause")
    force_presence(LENA, "Away", "Away")
    force_presence(LENA, "Busy", "InACall")
    yield
    control("POST", "/presence/resume")


def set_reading_out(page: Page, on: bool) -> None:
    box = page.get_by_role("checkbox", name="Read out availability changes")
    with page.expect_response(lambda r: r.url.endswith("/people/announce") and r.ok):
        box.set_checked(on)
    expect(box).to_be_checked(checked=on)


@pytest.mark.usefixtures("directory_synced", "lena_held_busy")
def test_availability_changes_of_a_favourite_are_read_out_only_when_asked_for(
    page: Page, live_stack: Stack, watch: PageWatch
) -> None:
    sign_in(page, live_stack.base_url, GRACE, next_path="/people/")
    status = page.locator("[data-live-status]")
    expect(status).to_have_text("Live", timeout=PUSH_TIMEOUT_MS)
    region = page.locator("[data-presence-announcer]")
    expect(region).to_have_attribute("aria-live", "polite")
    said = region.locator("p")
    box = page.get_by_role("checkbox", name="Read out availability changes")
    expect(box).not_to_be_checked()

    # Lena becomes a favourite on this page, and the person asks to hear changes.
    page.get_by_role("searchbox", name="Search people").fill("lena brandt")
    lena = page.locator('[data-person-card][data-display-name="Lena Brandt"]')
    expect(page.locator("[data-person-card]")).to_have_count(1, timeout=PUSH_TIMEOUT_MS)
    star = lena.get_by_role("button", name=re.compile("^Favourite Lena Brandt"))
    expect(star).to_have_attribute("aria-pressed", "false")
    star.press("Enter")
    expect(star).to_have_attribute("aria-pressed", "true")
    set_reading_out(page, True)

    force_presence(LENA, "Available", "Available")
    expect(said).to_have_text(["Lena Brandt is now Available."], timeout=PUSH_TIMEOUT_MS)

    # Remembered for the person: a fresh page has it on, and hears the next change too.
    page.reload()
    expect(box).to_be_checked()
    expect(status).to_have_text("Live", timeout=PUSH_TIMEOUT_MS)
    force_presence(LENA, "Busy", "InACall")
    expect(said).to_have_text(["Lena Brandt is now Busy."], timeout=PUSH_TIMEOUT_MS)

    # Asked not to: the change still shows on her card, and nothing is read out (a line would
    # be added as the card is drawn, in the same step).
    set_reading_out(page, False)
    force_presence(LENA, "Available", "Available")
    expect(lena.locator('[data-field="availability"]')).to_have_text(
        "Available", timeout=PUSH_TIMEOUT_MS
    )
    expect(said).to_have_text(["Lena Brandt is now Busy."])
    page.reload()
    expect(box).not_to_be_checked()

    lena.get_by_role("button", name=re.compile("^Favourite Lena Brandt")).press("Enter")
    expect(star).to_have_attribute("aria-pressed", "false")
    assert watch.console_errors == []


@pytest.fixture
def priya_held_busy(live_stack: Stack) -> Iterator[None]:
    """The simulator paused with Priya Busy: no alert for her fires while the test waits."""
    control("POST", "/presence/pause")
    force_presence(PRIYA, "Away", "Away")
    force_presence(PRIYA, "Busy", "InACall")
    yield
    control("POST", "/presence/resume")


def toggled_in_place(page: Page, button: Locator, key: str, pressed: str) -> None:
    """Press ``key`` on the focused ``button``: it is ``pressed`` after, and keeps the focus."""
    button.focus()
    page.keyboard.press(key)
    expect(button).to_have_attribute("aria-pressed", pressed)
    expect(button).to_be_focused()


@pytest.mark.usefixtures("directory_synced", "priya_held_busy")
def test_the_star_and_the_bell_on_the_wall_flip_and_keep_the_focus(
    page: Page, live_stack: Stack, watch: PageWatch
) -> None:
    sign_in(page, live_stack.base_url, GRACE, next_path="/people/")
    search = page.get_by_role("searchbox", name="Search people")
    search.fill("priya natarajan")
    expect(page.locator("[data-person-card]")).to_have_count(1, timeout=PUSH_TIMEOUT_MS)
    priya = page.locator('[data-person-card][data-display-name="Priya Natarajan"]')
    star = priya.get_by_role("button", name=re.compile("^Favourite Priya Natarajan"))
    bell = priya.get_by_role("button", name=re.compile("^Tell me when Priya Natarajan"))
    expect(star).to_have_attribute("aria-pressed", "false")
    expect(bell).to_have_attribute("aria-pressed", "false")

    toggled_in_place(page, star, "Enter", "true")
    toggled_in_place(page, star, " ", "false")
    toggled_in_place(page, bell, "Enter", "true")
    expect(bell.get_by_text("Waiting")).to_be_visible()
    toggled_in_place(page, bell, " ", "false")
    expect(bell.get_by_text("Waiting")).to_be_hidden()

    # A search answer the server wrote before the star was saved arrives after: the star
    # drawn from it still shows the save, and the focus moves onto it.
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route(CARDS, hold)
    with page.expect_request(CARDS):
        search.fill("natarajan")
    for _ in range(250):  # the route reaches this side just after the request does
        if held:
            break
        page.wait_for_timeout(20)
    written_before = page.request.get(held[0].request.url).text()
    toggled_in_place(page, star, "Enter", "true")
    before = star.element_handle()
    held[0].fulfill(body=written_before, content_type="text/html; charset=utf-8")
    page.wait_for_function("card => !card.isConnected", arg=before)
    expect(star).to_have_attribute("aria-pressed", "true")
    expect(star).to_be_focused()
    page.unroute(CARDS)

    toggled_in_place(page, star, "Enter", "false")
    assert watch.console_errors == []
