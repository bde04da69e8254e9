"""The events console in a real browser on the whole stack: an admin of the seeded tenant opens
it and finds the webinars they run in Teams, imported in the background, with their
registrations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from comms_portal.stack import Stack
from tests.e2e.accessibility import axe_source, serious_violations, sideways_overflow, too_wide
from tests.e2e.test_events import person
from tests.events.consents import forget_consents
from tests.support.cast import MEGAN

pytestmark = pytest.mark.e2e
# The worker's import: four listings and each event's parts, on a busy machine.
IMPORTED_MS = 60_000


@pytest.fixture(autouse=True)
def consents_withdrawn_afterwards() -> Iterator[None]:
    yield
    forget_consents()


def test_an_admin_finds_the_webinars_she_runs_in_teams(browser: Browser, live_stack: Stack) -> None:
    admin = person(browser, live_stack, MEGAN, axe=True)
    admin.goto("/events/console/")
    published = admin.get_by_role("region", name="Published")
    row = published.get_by_role("row").filter(has_text="Lumenhall product roadmap 2027")
    expect(row).to_have_count(1, timeout=IMPORTED_MS)
    expect(row.locator("[data-registered]")).to_have_text("36")
    expect(admin.locator("[data-import-message]")).to_contain_text("listed below")
    past = admin.get_by_role("region", name="Past")
    expect(past.get_by_role("link", name="Customer onboarding, the new way")).to_be_visible()
    canceled = admin.get_by_role("region", name="Canceled")
    expect(canceled.get_by_role("link", name="Partner summit preview")).to_be_visible()
    # Priya's own webinar is none of Megan's.
    expect(admin.get_by_text("Engineering brown bag: observability")).to_have_count(0)
    assert serious_violations(admin, axe_source()) == []
    admin.set_viewport_size({"width": 320, "height": 800})
    assert sideways_overflow(admin) == 0, too_wide(admin)

    # The imported webinar's console works as for one planned here.
    admin.set_viewport_size({"width": 1280, "height": 900})
    row.get_by_role("link").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Lumenhall product roadmap 2027")
    expect(admin.locator('[data-count="registered"]')).to_have_text("36")
    expect(
        admin.get_by_text("Nora Whitcombe (guest, nora.whitcombe@fabrikam.example)")
    ).to_be_visible()
    expect(admin.locator("[data-registrations]")).to_have_attribute(
        "data-live", "on", timeout=IMPORTED_MS
    )
    assert serious_violations(admin, axe_source()) == []
    admin.context.close()
