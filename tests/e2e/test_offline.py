"""A page whose connection dies says so within seconds and marks what it shows as out of date."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest
from playwright.sync_api import APIResponse, Page, Route, expect

from comms_portal.stack import Stack
from tests.e2e.conftest import PageWatch
from tests.e2e.signin import sign_in
from tests.support.cast import PRIYA

pytestmark = pytest.mark.e2e

# Found dead within 5 s by the heartbeat or the browser's offline event; the margin is for
# a machine busy with other tests, not for the page.
DEAD_FOUND_MS = 8_000
SNAPSHOTS = "**/people/api/presence?*"
LATE_NOTE = "Read before the network went"


# Every text the connection status is given, from the first byte of each page on.
RECORD_STATUS = """
window.statusSaid = [];
document.addEventListener("DOMContentLoaded", function () {
  const status = document.querySelector("[data-live-status]");
  if (!status) { return; }
  new MutationObserver(function () {
    window.statusSaid.push(status.textContent);
  }).observe(status, { childList: true, characterData: true, subtree: true });
});
"""


class HeldSnapshots:
    """Snapshot answers fetched from the portal but handed to the page only when released."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.holding = True
        self.held: list[Route] = []

    def handle(self, route: Route) -> None:
        if self.holding:
            self.held.append(route)
        else:
            route.continue_()

    def release(self, person_id: str, message: str) -> None:
        """Answer every held read now, with ``message`` as ``person_id``'s status message."""
        self.holding = False
        assert self.held, "the page read no snapshot while it was live"
        for route in self.held:
            # Read outside the browser, which is offline; the portal answers as it did.
            response: APIResponse = self.page.request.get(route.request.url)
            body = response.json()
            if person_id in body["presence"]:
                body["presence"][person_id]["status_message"] = message
            route.fulfill(response=response, body=json.dumps(body))


@pytest.mark.usefixtures("directory_synced")
def test_going_offline_shows_reconnecting_and_marks_cards_stale_until_back_online(
    page: Page, live_stack: Stack, watch: PageWatch
) -> None:
    # The page's first snapshot reads are still on their way when the network goes: their
    # answers, arriving after, must not pass for live news and unmark the cards.
    page.add_init_script(RECORD_STATUS)
    snapshots = HeldSnapshots(page)
    page.route(SNAPSHOTS, snapshots.handle)
    status = page.locator("[data-live-status]")
    with page.expect_request(SNAPSHOTS):
        sign_in(page, live_stack.base_url, PRIYA, next_path="/people/")
        expect(status).to_have_text("Live", timeout=10_000)
    first = page.locator("[data-person-card]").first
    expect(first).to_be_visible()

    said_before = len(page.evaluate("() => window.statusSaid"))
    page.context.set_offline(True)

    expect(status).to_have_text("Reconnecting…", timeout=DEAD_FOUND_MS)
    not_stale = page.locator("[data-person-card]:not([data-stale])")
    expect(not_stale).to_have_count(0)
    badge = first.locator('[data-field="availability"]')
    expect(badge).to_contain_text("(may be out of date)")

    person_id = first.get_attribute("data-presence-id")
    assert person_id is not None
    note = first.locator('[data-field="status-message"]')
    snapshots.release(person_id, LATE_NOTE)
    expect(note).to_contain_text(LATE_NOTE)
    expect(first).to_have_attribute("data-stale", "true")
    expect(badge).to_contain_text("(may be out of date)")
    expect(not_stale).to_have_count(0)

    page.context.set_offline(False)

    expect(status).to_have_text("Live", timeout=15_000)
    expect(page.locator("[data-stale]")).to_have_count(0, timeout=10_000)
    expect(badge).not_to_contain_text("may be out of date")
    expect(note).not_to_contain_text(LATE_NOTE)
    # The status is a polite live region: it was written once per change of state, not at
    # every failed retry while offline, so "Reconnecting…" was read out once.
    said: list[str] = page.evaluate("() => window.statusSaid")
    assert said[said_before:] == ["Reconnecting…", "Live"]
    assert all(earlier != later for earlier, later in pairwise(said))
    # Only the browser's own notes on requests it could not send while offline.
    assert [e for e in watch.console_errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
