"""Meetings in a real browser on the whole stack: schedule with the people picker, the live
roster as people join and leave, attendance afterwards, Meet now from a colleague's page;
each page axe-clean and without sideways scroll at 320px."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect

from comms_portal.stack import Stack
from tests.e2e.accessibility import (
    axe_source,
    missing_references,
    serious_violations,
    sideways_overflow,
)
from tests.e2e.signin import sign_in
from tests.support.cast import GRACE, PRIYA, TOMAS
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


class LiveSocketTap:
    """The page's live sockets, passed through to the portal, with faults on demand: the next
    roster change dropped, or the connection cut and kept down until restored."""

    def __init__(self, page: Page) -> None:
        self.frames: list[str] = []
        self.drop_next_change = False
        self.down = False
        self.sockets: list[WebSocketRoute] = []
        page.route_web_socket(re.compile(r"/ws/live/$"), self.handle)

    def handle(self, socket: WebSocketRoute) -> None:
        if self.down:
            # Accepted by nobody: the page's watch goes unanswered until the cut is over.
            self.sockets.append(socket)
            return
        server = socket.connect_to_server()
        self.sockets.append(socket)

        def from_portal(message: str | bytes) -> None:
            text = message if isinstance(message, str) else message.decode()
            self.frames.append(text)
            if self.drop_next_change and '"roster-delta"' in text:
                self.drop_next_change = False
                return
            socket.send(text)

        server.on_message(from_portal)

    def kinds(self) -> list[str]:
        return [str(json.loads(frame).get("type")) for frame in self.frames]

    def cut(self) -> None:
        self.down = True
        for socket in self.sockets:
            socket.close(code=1011, reason="cut")
        self.sockets = []

    def restore(self) -> None:
        self.down = False
        for socket in self.sockets:
            socket.close(code=1011, reason="back")
        self.sockets = []


def test_a_meeting_is_scheduled_watched_live_and_reported(
    priya: Page, live_stack: Stack, axe: str
) -> None:
    page = priya
    tap = LiveSocketTap(page)
    expect(page.get_by_role("heading", name="New Teams meeting")).to_be_visible()
    check_page(page, axe, "new meeting")
    page.get_by_label("Subject").fill("Roadmap review")
    # It starts now, so its call events are watched at once.
    now = datetime.now(UTC)
    page.get_by_label("Day").fill(now.strftime("%Y-%m-%d"))
    page.get_by_label("Start time").fill(now.strftime("%H:%M"))
    page.get_by_label("End time").fill("23:59")
    page.get_by_label("Time zone").select_option("UTC")
    # Only people invited as presenters present: Tomas, invited, attends.
    page.locator("#id_allowed_presenters").select_option("roleIsPresenter")
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
    in_progress = page.locator("[data-roster-state]")
    expect(in_progress).to_be_hidden()
    control("POST", f"/meetings/{remote_id}/join", {"userId": user_id(PRIYA)})
    control("POST", f"/meetings/{remote_id}/join", {"userId": user_id(TOMAS)})
    expect(roster.get_by_text("Tomas Lindqvist")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(summary).to_have_text("2 in the meeting.", timeout=LIVE_TIMEOUT_MS)
    expect(in_progress).to_have_text("In progress")
    tomas_line = roster.locator("li", has_text="Tomas Lindqvist")
    expect(tomas_line).to_contain_text("Attendee")
    expect(tomas_line).to_contain_text(re.compile(r"since \d\d:\d\d"))
    expect(roster.locator("li", has_text="Priya Natarajan")).to_contain_text("Organizer")
    control("POST", f"/meetings/{remote_id}/leave", {"userId": user_id(TOMAS)})
    expect(roster.get_by_text("Tomas Lindqvist")).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
    expect(summary).to_have_text("1 in the meeting.", timeout=LIVE_TIMEOUT_MS)
    control("POST", f"/meetings/{remote_id}/join", {"userId": user_id(GRACE)})
    expect(roster.get_by_text("Grace Whitfield")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(summary).to_have_text("2 in the meeting.", timeout=LIVE_TIMEOUT_MS)
    # The leave and the join came as changes, not as the whole roster again.
    kinds = tap.kinds()
    assert kinds.count("roster-delta") >= 2, kinds

    # A change lost on the way: the next one's number skips, and the page reads the roster.
    tap.drop_next_change = True
    control("POST", f"/meetings/{remote_id}/leave", {"userId": user_id(GRACE)})
    page.wait_for_timeout(100)
    for _ in range(150):
        if not tap.drop_next_change:
            break
        page.wait_for_timeout(100)
    assert not tap.drop_next_change, "Grace's leave never reached the page's socket"
    control("POST", f"/meetings/{remote_id}/join", {"userId": user_id(TOMAS)})
    expect(roster.get_by_text("Tomas Lindqvist")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(roster.get_by_text("Grace Whitfield")).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
    expect(summary).to_have_text("2 in the meeting.", timeout=LIVE_TIMEOUT_MS)

    # The connection drops and a change happens meanwhile: once the page is back, it shows it.
    tap.cut()
    expect(page.locator("[data-roster-connection]")).to_have_text(
        "Reconnecting…", timeout=LIVE_TIMEOUT_MS
    )
    control("POST", f"/meetings/{remote_id}/leave", {"userId": user_id(TOMAS)})
    roster_url = f"/meetings/{page.url.rstrip('/').rsplit('/', 1)[-1]}/roster"
    for _ in range(150):
        if page.request.get(roster_url).json()["count"] == 1:
            break
        page.wait_for_timeout(200)
    tap.restore()
    expect(roster.get_by_text("Tomas Lindqvist")).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
    expect(summary).to_have_text("1 in the meeting.", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("[data-roster-connection]")).to_be_hidden(timeout=LIVE_TIMEOUT_MS)

    control("POST", f"/meetings/{remote_id}/end")
    expect(summary).to_have_text(
        "The meeting has not started, or has ended.", timeout=LIVE_TIMEOUT_MS
    )
    expect(in_progress).to_be_hidden()

    page.get_by_role("link", name="Attendance").click()
    page.wait_for_load_state()
    table = page.get_by_role("table")
    expect(table.get_by_role("rowheader", name="Priya Natarajan")).to_be_visible()
    expect(table.get_by_role("rowheader", name="Tomas Lindqvist")).to_be_visible()
    expect(page.get_by_role("img", name="Timeline")).to_be_visible()
    check_page(page, axe, "attendance")
    # Sorting by name from the keyboard: the order turns and the focus stays on the heading.
    name_heading = table.get_by_role("button", name="Name")
    name_heading.focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(table.get_by_role("columnheader", name="Name")).to_have_attribute(
        "aria-sort", "ascending"
    )
    names = table.get_by_role("rowheader").all_inner_texts()
    assert names == sorted(names)
    expect(table.get_by_role("button", name="Name")).to_be_focused()
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
