"""Meetings in a real browser on the whole stack: schedule with the people picker, the live
roster as people join and leave, attendance afterwards, Meet now from a colleague's page;
each page axe-clean and without sideways scroll at 320px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from comms_portal.stack import Stack
from tests.e2e.accessibility import (
    axe_source,
    missing_references,
    serious_violations,
    sideways_overflow,
)
from tests.e2e.signin import sign_in
from tests.support.cast import PRIYA, TOMAS
from tests.support.session_sandbox import control

pytestmark = pytest.mark.e2e

NARROW = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 900}
LIVE_TIMEOUT_MS = 30_000


def user_id(upn: str) -> str:
    info = control("GET", "/info").json()
    return str(next(u["id"] for u in info["users"] if u["userPrincipalName"] == upn))


def accept_consent_if_asked(page: Page, base_url: str) -> None:
    """Answer the authority's consent page when a feature asks for more permissions."""
    portal = re.compile("^" + re.escape(base_url))
    for _ in range(150):
        if portal.match(page.url) and "/accounts/" not in page.url:
            return
        accept = page.locator("#idBtn_Accept")
        if accept.is_visible():
            accept.click()
            break
        page.wait_for_timeout(100)
    page.wait_for_url(re.compile("^" + re.escape(base_url) + "/meetings/"))
    page.wait_for_load_state()


def check_page(page: Page, axe: str, name: str) -> None:
    """The page has no serious axe findings at desktop width, and fits 320px."""
    page.set_viewport_size(DESKTOP)
    assert serious_violations(page, axe) == [], name
    assert missing_references(page) == [], name
    page.set_viewport_size(NARROW)
    assert sideways_overflow(page) <= 0, name
    page.set_viewport_size(DESKTOP)


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


@pytest.fixture
def priya(browser: Browser, live_stack: Stack, directory_synced: None) -> Iterator[Page]:
    """Priya's browser (CSP bypassed so axe can be injected), signed in, meetings granted."""
    context = browser.new_context(base_url=live_stack.base_url, bypass_csp=True)
    page = context.new_page()
    sign_in(page, live_stack.base_url, PRIYA, next_path="/meetings/")
    page.goto("/meetings/new/")
    accept_consent_if_asked(page, live_stack.base_url)
    yield page
    context.close()


def test_a_meeting_is_scheduled_watched_live_and_reported(
    priya: Page, live_stack: Stack, axe: str
) -> None:
    page = priya
    expect(page.get_by_role("heading", name="New Teams meeting")).to_be_visible()
    check_page(page, axe, "new meeting")
    page.get_by_label("Subject").fill("Roadmap review")
    # It starts now, so its call events are watched at once.
    now = datetime.now(UTC)
    page.get_by_label("Day").fill(now.strftime("%Y-%m-%d"))
    page.get_by_label("Start time").fill(now.strftime("%H:%M"))
    page.get_by_label("End time").fill("23:59")
    page.get_by_label("Time zone").select_option("UTC")
    picker = page.get_by_role("combobox", name="Invite people")
    picker.fill("Tomas")
    option = page.get_by_role("option", name=re.compile("Tomas Lindqvist"))
    expect(option).to_be_visible(timeout=10_000)
    picker.press("ArrowDown")
    picker.press("Enter")
    expect(page.get_by_role("button", name=re.compile("Remove Tomas Lindqvist"))).to_be_visible()
    page.get_by_role("button", name="Create meeting").click()
    page.wait_for_load_state()

    expect(page.get_by_role("heading", name="Roadmap review")).to_be_visible()
    expect(page.get_by_role("link", name="Join in Teams")).to_have_attribute(
        "href", re.compile("^https://teams.microsoft.com/l/meetup-join/")
    )
    meeting_id = page.locator("[data-meeting-id]").inner_text()
    assert meeting_id.isdigit()
    check_page(page, axe, "meeting")

    roster = page.locator("[data-roster-list]")
    summary = page.locator("[data-roster-summary]")
    join_url = page.get_by_role("link", name="Join in Teams").get_attribute("href") or ""
    remote_id = next(
        m["id"] for m in control("GET", "/meetings").json()["value"] if m["joinWebUrl"] == join_url
    )
    # The worker subscribes to the meeting's call events right after it is made (the tenant's
    # access policy grants the app every organizer by default).
    for _ in range(150):
        if any(
            "meetingCallEvents" in s["resource"]
            for s in control("GET", "/subscriptions").json()["value"]
        ):
            break
        page.wait_for_timeout(200)
    control("POST", f"/meetings/{remote_id}/join", {"userId": user_id(PRIYA)})
    control("POST", f"/meetings/{remote_id}/join", {"userId": user_id(TOMAS)})
    expect(roster.get_by_text("Tomas Lindqvist")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(summary).to_have_text("2 in the meeting.", timeout=LIVE_TIMEOUT_MS)
    control("POST", f"/meetings/{remote_id}/leave", {"userId": user_id(TOMAS)})
    expect(roster.get_by_text("Tomas Lindqvist")).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
    control("POST", f"/meetings/{remote_id}/end")
    expect(summary).to_have_text(
        "The meeting has not started, or has ended.", timeout=LIVE_TIMEOUT_MS
    )

    page.get_by_role("link", name="Attendance").click()
    page.wait_for_load_state()
    table = page.get_by_role("table")
    expect(table.get_by_role("rowheader", name="Priya Natarajan")).to_be_visible()
    expect(table.get_by_role("rowheader", name="Tomas Lindqvist")).to_be_visible()
    expect(page.get_by_role("img", name="Timeline")).to_be_visible()
    check_page(page, axe, "attendance")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("Name,Email,Role,Total seconds")
    assert "Tomas Lindqvist" in text

    page.goto("/meetings/")
    expect(page.get_by_role("link", name="Roadmap review")).to_be_visible()
    check_page(page, axe, "my meetings")
    # Looking it up by its meeting ID opens it.
    page.get_by_label("Join link or meeting ID").fill(meeting_id)
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name="Roadmap review")).to_be_visible()


def test_meet_now_from_a_colleagues_page_opens_a_meeting_with_them(priya: Page) -> None:
    page = priya
    page.goto("/people/")
    page.get_by_role("combobox", name="Find a person").fill("Tomas Lindqvist")
    page.get_by_role("option", name=re.compile("Tomas Lindqvist")).click()
    page.wait_for_url(re.compile(r"/people/[0-9a-f-]+/$"))
    page.get_by_role("button", name=re.compile("^Meet now with Tomas Lindqvist")).click()
    page.wait_for_load_state()
    expect(
        page.get_by_role("heading", name=re.compile("^Meet now: .* and Tomas Lindqvist"))
    ).to_be_visible()
    expect(page.get_by_text("Your meeting with Tomas Lindqvist is ready")).to_be_visible()
