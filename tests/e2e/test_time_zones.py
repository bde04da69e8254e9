"""Time zones in real browsers: people in New York and Tokyo see, and set, their own clock."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import psycopg
import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from comms_portal.stack import Stack
from tests.e2e.conftest import LOOPBACK_HOSTS, PageWatch
from tests.e2e.signin import sign_in
from tests.support.cast import DANIEL, LENA, MARCUS, SAMUEL
from tests.support.session_sandbox import control

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
STATUS = "/people/me/status/"
# Presence reaches the portal through subscriptions or polls; allow for a poll cycle.
ENGINE_TIMEOUT_MS = 60_000

BrowserIn = Callable[[str], tuple[Page, PageWatch]]


@pytest.fixture
def browser_in(browser: Browser, live_stack: Stack) -> Iterator[BrowserIn]:
    """Open browser contexts whose clock is in a given IANA zone, watched like ``page``."""
    contexts = []

    def open_in(zone: str) -> tuple[Page, PageWatch]:
        watch = PageWatch()
        context = browser.new_context(base_url=live_stack.base_url, timezone_id=zone)
        contexts.append(context)

        def only_loopback(route: Route) -> None:
            url = route.request.url
            if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOOPBACK_HOSTS:
                route.continue_()
            else:
                watch.outside_requests.append(url)
                route.abort()

        context.route("**/*", only_loopback)
        page = context.new_page()
        page.on(
            "console", lambda m: watch.console_errors.append(m.text) if m.type == "error" else None
        )
        page.on("pageerror", lambda error: watch.console_errors.append(str(error)))
        return page, watch

    yield open_in
    for context in contexts:
        context.close()


@pytest.fixture
def directory_synced(live_stack: Stack) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "sync_directory"],
        cwd=REPO,
        env=live_stack.env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def user_id(upn: str) -> str:
    info = control("GET", "/info").json()
    return str(next(u["id"] for u in info["users"] if u["userPrincipalName"] == upn))


def sandbox_presence(upn: str) -> dict[str, object]:
    people = control("GET", f"/presence/state?ids={user_id(upn)}").json()["people"]
    return dict(people[0])


def shown_in(page: Page, zone: str) -> None:
    """Wait until the page is drawn in ``zone`` (after the first visit's one reload)."""
    expect(page.locator("html")).to_have_attribute("data-time-zone", zone)
    page.wait_for_load_state()


def next_date(month: int, day: int) -> date:
    today = datetime.now(UTC).date()
    candidate = date(today.year, month, day)
    return candidate if candidate > today else date(today.year + 1, month, day)


def clock_of(moment: datetime, zone: ZoneInfo) -> str:
    """What the pages write for ``moment`` on the clock of ``zone`` (comms_portal/times.py)."""
    local = moment.astimezone(zone)
    if local.date() == datetime.now(zone).date():
        return f"{local:%H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def moment_of(time_element: Locator) -> datetime:
    return datetime.fromisoformat(
        str(time_element.get_attribute("datetime")).replace("Z", "+00:00")
    )


def since_shown(time_element: Locator) -> tuple[datetime, str]:
    """Read a "since" time's moment and its words at once (a push may redraw it meanwhile)."""
    moment, text = time_element.evaluate("e => [e.getAttribute('datetime'), e.textContent]")
    return datetime.fromisoformat(moment.replace("Z", "+00:00")), text.strip()


def set_message_clearing_at(page: Page, when: str) -> None:
    page.get_by_role("textbox", name="Status message").fill("Back after the holidays")
    page.get_by_label("Clear after").select_option("custom")
    page.get_by_label("Clear at").fill(when)
    page.get_by_role("button", name="Set message").click()
    expect(page.get_by_role("status").filter(has_text="Your status message is set")).to_be_visible()


def forget_stored_zone(live_stack: Stack, upn: str) -> None:
    """Make the next visit of ``upn`` a first one again (other tests may have signed them in)."""
    url = live_stack.config.database_url or ""
    statement = "UPDATE accounts_user SET time_zone = '' WHERE lower(email) = lower(%s)"
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as database:
            database.execute(statement.replace("%s", "?"), (upn,))
        return
    with psycopg.connect(url, autocommit=True) as database:
        database.execute(statement, (upn,))


def test_new_york_sets_times_on_its_own_clock_and_my_status_shows_them(
    browser_in: BrowserIn, live_stack: Stack
) -> None:
    forget_stored_zone(live_stack, LENA)
    page, watch = browser_in("America/New_York")
    sign_in(page, live_stack.base_url, LENA, next_path=STATUS)
    # The browser's zone is taken on the first visit; the page is drawn again in it.
    shown_in(page, "America/New_York")
    expect(page.locator(".zone-summary")).to_have_text("Time zone: New York time")

    try:
        # "Clear at" shows only once a time is to be chosen.
        clear_at = page.get_by_label("Clear at")
        expect(clear_at).to_be_hidden()
        page.get_by_label("Clear after").select_option("custom")
        expect(clear_at).to_be_visible()
        page.get_by_label("Clear after").select_option("never")
        expect(clear_at).to_be_hidden()

        # 18:00 in New York is 23:00 UTC in winter and 22:00 UTC in summer.
        winter, summer = next_date(1, 15), next_date(7, 15)
        set_message_clearing_at(page, f"{winter}T18:00")
        expiry = sandbox_presence(LENA)["statusMessage"]
        assert isinstance(expiry, dict)
        assert expiry["expiryDateTime"]["dateTime"] == f"{winter}T23:00:00.0000000"
        clears = page.locator("[data-message-clears]")
        expect(clears).to_have_text(
            f"The message clears at {winter:%a} {winter.day} {winter:%b} 18:00 New York time."
        )
        set_message_clearing_at(page, f"{summer}T18:00")
        expiry = sandbox_presence(LENA)["statusMessage"]
        assert isinstance(expiry, dict)
        assert expiry["expiryDateTime"]["dateTime"] == f"{summer}T22:00:00.0000000"
        # What is set is what the form holds.
        expect(page.get_by_role("textbox", name="Status message")).to_have_value(
            "Back after the holidays"
        )
        expect(page.get_by_label("Clear after")).to_have_value("custom")
        expect(clear_at).to_have_value(f"{summer}T18:00")

        # Busy for 2 hours: the page says until when, on New York's clock, and keeps the choice.
        page.get_by_role("combobox", name="Availability").select_option("busy")
        page.get_by_label("For").select_option("2h")
        page.get_by_role("button", name="Set availability").click()
        flash = page.get_by_role("status").filter(has_text="You show as Busy for 2 hours")
        expect(flash).to_contain_text(re.compile(r"until \d\d:\d\d New York time\."))
        until = page.locator("[data-status-until]")
        ends = moment_of(until.locator("time"))
        expect(until).to_have_text(f"until {ends.astimezone(NEW_YORK):%H:%M} New York time")
        assert ends.utcoffset() == ends.astimezone(NEW_YORK).utcoffset()
        expect(page.get_by_role("combobox", name="Availability")).to_have_value("busy")
        expect(page.get_by_label("For")).to_have_value("2h")
        expect(page.locator(".status-now [data-field=availability]")).to_have_text("Busy")

        # "Today" ends at midnight in New York, not in UTC.
        page.get_by_label("For").select_option("today")
        page.get_by_role("button", name="Set availability").click()
        expect(until).to_have_text("until 23:59 New York time")
        ends = moment_of(until.locator("time")).astimezone(NEW_YORK)
        assert (ends.hour, ends.minute, ends.date()) == (23, 59, datetime.now(NEW_YORK).date())
    finally:
        # Leave the shared sandbox as Teams would: no chosen presence, no message.
        page.goto(STATUS)
        page.get_by_role("button", name="Reset status").click()
        if page.get_by_role("button", name="Clear message").count():
            page.get_by_role("button", name="Clear message").click()
    assert watch.console_errors == []
    assert watch.outside_requests == []


def test_tokyo_sees_tokyo_times_on_the_wall_the_person_page_and_my_status(
    browser_in: BrowserIn, live_stack: Stack, directory_synced: None
) -> None:
    page, watch = browser_in("Asia/Tokyo")
    sign_in(page, live_stack.base_url, MARCUS, next_path="/people/?q=samuel")
    shown_in(page, "Asia/Tokyo")
    expect(page.get_by_text("Times are Tokyo time.")).to_be_visible()

    since = page.locator('[data-person-card][data-display-name="Samuel Ortega"] [data-field=since]')
    expect(since).to_contain_text("since ", timeout=ENGINE_TIMEOUT_MS)
    began, words = since_shown(since)
    assert re.fullmatch(rf"since {clock_of(began, TOKYO)} \(.+\)", words), words

    page.get_by_role("link", name="Samuel Ortega, Head of Finance", exact=True).click()
    detail = page.locator(".presence-detail time[data-field=since]")
    began, words = since_shown(detail)
    assert re.fullmatch(rf"{clock_of(began, TOKYO)} \(.+\)", words), words
    expect(detail.locator("xpath=..")).to_contain_text("Tokyo time")

    page.goto(STATUS)
    page.get_by_role("combobox", name="Availability").select_option("away")
    page.get_by_label("For").select_option("today")
    page.get_by_role("button", name="Set availability").click()
    until = page.locator("[data-status-until]")
    expect(until).to_have_text("until 23:59 Tokyo time")
    # Midnight in Tokyo is 14:59:59 UTC.
    assert moment_of(until.locator("time")).astimezone(UTC).time().isoformat() == "14:59:59"
    page.get_by_role("button", name="Reset status").click()
    assert watch.console_errors == []
    assert watch.outside_requests == []


@pytest.fixture
def simulator_paused() -> Iterator[None]:
    # The simulated tenant would otherwise move Samuel around while the test watches him.
    control("POST", "/presence/pause")
    yield
    control("POST", "/presence/resume")


def test_the_zone_chosen_in_the_header_wins_over_the_browsers(
    browser_in: BrowserIn, live_stack: Stack, directory_synced: None, simulator_paused: None
) -> None:
    page, watch = browser_in("America/New_York")
    sign_in(page, live_stack.base_url, DANIEL, next_path="/people/?q=samuel")
    shown_in(page, "America/New_York")

    # By keyboard: open the control, choose Tokyo, save.
    summary = page.locator(".zone-summary")
    summary.focus()
    page.keyboard.press("Enter")
    choice = page.get_by_label("Show times in").first
    expect(choice).to_be_visible()
    choice.focus()
    choice.select_option("Asia/Tokyo")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save time zone").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("status").filter(has_text="Times now show in Tokyo time.")
    ).to_be_visible()
    shown_in(page, "Asia/Tokyo")
    expect(page).to_have_url(re.compile(r"/people/\?q=samuel$"))
    expect(summary).to_have_text("Time zone: Tokyo time")

    # A change pushed to the open page is drawn by its script on Tokyo's clock, the server's
    # word, not on the browser's New York one.
    card = page.locator('[data-person-card][data-display-name="Samuel Ortega"]')
    since = card.locator("[data-field=since]")
    expect(since).to_contain_text("since ", timeout=ENGINE_TIMEOUT_MS)
    page.wait_for_load_state("networkidle")
    samuel = user_id(SAMUEL)
    for availability, activity in (("Busy", "InACall"), ("DoNotDisturb", "Presenting")):
        control("POST", f"/presence/{samuel}", {"availability": availability, "activity": activity})
    expect(card.locator("[data-field=activity]")).to_have_text(
        "Presenting", timeout=ENGINE_TIMEOUT_MS
    )
    # Drawn with Presenting's own icon.
    expect(card.locator("[data-field=icon]")).to_have_class(
        "presence-icon presence-donotdisturb presence-presenting"
    )
    began, words = since_shown(since)
    assert clock_of(began, TOKYO) != clock_of(began, NEW_YORK)
    assert re.fullmatch(rf"since {clock_of(began, TOKYO)} \(.+\)", words), words
    assert watch.console_errors == []
    assert watch.outside_requests == []
