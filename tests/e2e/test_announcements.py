"""What screen readers are told without looking: messages present at load, presence changes
of the people one follows (when asked for), and the state of a toggle kept under the finger."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from comms_portal.stack import Stack
from tests.e2e.conftest import PageWatch
from tests.e2e.signin import sign_in
from tests.support.cast import GRACE

pytestmark = pytest.mark.e2e

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
