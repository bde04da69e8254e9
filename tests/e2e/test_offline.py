"""A page whose connection dies says so within seconds and marks what it shows as out of date."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from comms_portal.stack import Stack
from tests.e2e.conftest import PageWatch
from tests.e2e.signin import sign_in
from tests.support.cast import PRIYA

pytestmark = pytest.mark.e2e

# Found dead within 5 s by the heartbeat or the browser's offline event; the margin is for
# a machine busy with other tests, not for the page.
DEAD_FOUND_MS = 8_000


@pytest.mark.usefixtures("directory_synced")
def test_going_offline_shows_reconnecting_and_marks_cards_stale_until_back_online(
    page: Page, live_stack: Stack, watch: PageWatch
) -> None:
    sign_in(page, live_stack.base_url, PRIYA, next_path="/people/")
    status = page.locator("[data-live-status]")
    expect(status).to_have_text("Live", timeout=10_000)
    cards = page.locator("[data-person-card]")
    expect(cards.first).to_be_visible()

    page.context.set_offline(True)

    expect(status).to_have_text("Reconnecting…", timeout=DEAD_FOUND_MS)
    expect(cards.first).to_have_attribute("data-stale", "true")
    badge = cards.first.locator('[data-field="availability"]')
    expect(badge).to_contain_text("(may be out of date)")
    assert page.locator("[data-person-card]:not([data-stale])").count() == 0

    page.context.set_offline(False)

    expect(status).to_have_text("Live", timeout=15_000)
    expect(page.locator("[data-stale]")).to_have_count(0, timeout=10_000)
    expect(badge).not_to_contain_text("may be out of date")
