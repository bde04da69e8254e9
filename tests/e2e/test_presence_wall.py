"""The live people wall in real browsers, on the whole stack and the sandbox's presence."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import redis
from django.test import override_settings
from playwright.sync_api import Browser, Locator, Page, Route, expect

from comms_portal.stack import Stack
from presence import store
from presence.store import PresenceState
from tests.e2e.conftest import LOOPBACK_HOSTS, PageWatch
from tests.e2e.signin import sign_in
from tests.support.cast import PRIYA, SAMUEL, TOMAS
from tests.support.session_sandbox import control

pytestmark = pytest.mark.e2e

# Changes from the sandbox travel through subscriptions or polls; allow for a poll cycle.
ENGINE_TIMEOUT_MS = 60_000
PUSH_TIMEOUT_MS = 10_000


def user_id(upn: str) -> str:
    info = control("GET", "/info").json()
    return str(next(u["id"] for u in info["users"] if u["userPrincipalName"] == upn))


def force_presence(upn: str, availability: str, activity: str) -> None:
    control(
        "POST", f"/presence/{user_id(upn)}", {"availability": availability, "activity": activity}
    )


def watched_page(browser: Browser, stack: Stack, watch: PageWatch) -> Iterator[Page]:
    """A second person's browser context, watched like the ``page`` fixture's."""
    context = browser.new_context(base_url=stack.base_url)

    def only_loopback(route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or (urlsplit(url).hostname or "") in LOOPBACK_HOSTS:
            route.continue_()
        else:
            watch.outside_requests.append(url)
            route.abort()

    context.route("**/*", only_loopback)
    second = context.new_page()
    second.on(
        "console", lambda m: watch.console_errors.append(m.text) if m.type == "error" else None
    )
    second.on("pageerror", lambda error: watch.console_errors.append(str(error)))
    yield second
    context.close()


@pytest.fixture
def colleague_page(browser: Browser, live_stack: Stack) -> Iterator[tuple[Page, PageWatch]]:
    watch = PageWatch()
    for second in watched_page(browser, live_stack, watch):
        yield second, watch


def on_stack_redis(stack: Stack) -> override_settings:
    """Point this process's presence store at the Redis database the stack uses."""
    return override_settings(REDIS_URL=stack.env["REDIS_URL"])


@pytest.fixture
def simulator_paused(live_stack: Stack) -> Iterator[None]:
    # The simulated tenant would otherwise move Samuel around while the test watches him.
    control("POST", "/presence/pause")
    # Through Busy, so that Away is a change the sandbox notifies even if he was Away already
    # (an earlier test may have left the portal's store without him).
    force_presence(SAMUEL, "Busy", "InACall")
    force_presence(SAMUEL, "Away", "Away")
    yield
    control("POST", "/presence/resume")
    with on_stack_redis(live_stack):
        store.forget([user_id(SAMUEL)])


def card(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-person-card][data-display-name="{name}"]')


def open_wall_on_samuel(page: Page, stack: Stack) -> Locator:
    """Open Tomas's wall, live, with Samuel's card shown as Away and nothing still loading."""
    samuel = user_id(SAMUEL)
    # The page reads Samuel's snapshot once the server confirms it watches him, a websocket
    # round trip after he scrolls into view, which "networkidle" does not wait for: wait for
    # that read itself, so no late one redraws his card after the test changes the store.
    with page.expect_response(
        lambda response: "/people/api/presence?" in response.url and samuel in response.url,
        timeout=ENGINE_TIMEOUT_MS,
    ):
        sign_in(page, stack.base_url, TOMAS, next_path="/people/")
        samuel_card = card(page, "Samuel Ortega")
        samuel_card.scroll_into_view_if_needed()
        expect(page.locator("[data-live-status]")).to_have_text("Live", timeout=PUSH_TIMEOUT_MS)
    expect(samuel_card.locator('[data-field="availability"]')).to_have_text(
        "Away", timeout=ENGINE_TIMEOUT_MS
    )
    # Let the photos finish, so nothing else resynchronises the card.
    page.wait_for_load_state("networkidle")
    return samuel_card


def store_without_push(
    stack: Stack, upn: str, availability: str, activity: str | None = None
) -> None:
    """Change the stack's presence store directly, so no push tells any page.

    Stamped an hour ahead, so polls of the paused sandbox do not overwrite it meanwhile.
    """
    state = PresenceState(
        person_id=user_id(upn),
        availability=availability,
        activity=activity or availability,
        observed_at=time.time() + 3600,
        source="poll",
    )
    with on_stack_redis(stack):
        store.apply_updates([state])


def test_two_people_side_by_side_see_each_other_live(
    page: Page,
    watch: PageWatch,
    colleague_page: tuple[Page, PageWatch],
    live_stack: Stack,
    directory_synced: None,
    simulator_paused: None,
) -> None:
    tomas, tomas_watch = colleague_page
    sign_in(page, live_stack.base_url, PRIYA, next_path="/people/me/status/")
    sign_in(tomas, live_stack.base_url, TOMAS, next_path="/people/")

    # Tomas's wall shows Priya; the page never reloads from here on.
    priya_card = card(tomas, "Priya Natarajan")
    priya_card.scroll_into_view_if_needed()
    expect(tomas.locator("[data-live-status]")).to_have_text("Live", timeout=PUSH_TIMEOUT_MS)
    tomas.evaluate("window.__sameDocument = true")

    # Priya sets Busy on My status; Tomas's card follows without a reload.
    page.get_by_role("combobox", name="Availability").select_option("busy")
    page.get_by_role("combobox", name="For").select_option("1h")
    page.get_by_role("button", name="Set availability").click()
    expect(page.get_by_role("status").filter(has_text="You show as Busy")).to_be_visible()
    expect(priya_card.locator('[data-field="availability"]')).to_have_text(
        "Busy", timeout=PUSH_TIMEOUT_MS
    )
    expect(priya_card.locator('[data-field="availability"]')).to_have_class(
        "presence-badge presence-busy"
    )

    # A simulated colleague joins a call in Teams; the card changes.
    samuel_card = card(tomas, "Samuel Ortega")
    samuel_card.scroll_into_view_if_needed()
    force_presence(SAMUEL, "Busy", "InACall")
    expect(samuel_card.locator('[data-field="activity"]')).to_have_text(
        "In a call", timeout=ENGINE_TIMEOUT_MS
    )
    expect(samuel_card.locator('[data-field="availability"]')).to_have_text("Busy")
    assert tomas.evaluate("window.__sameDocument === true")

    # Tomas asks to be told when Samuel is free; the alert fires when he becomes Available.
    samuel_card.get_by_role("link", name="Samuel Ortega, Head of Finance", exact=True).click()
    tomas.get_by_role("button", name="Tell me when available").click()
    expect(tomas.get_by_role("button", name="Tell me when available")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(tomas.locator("[data-live-status]")).to_have_text("Live", timeout=PUSH_TIMEOUT_MS)
    # And, for this tab only, every time he becomes Available while the page is open: the
    # one-shot notice and the page's own alert both show.
    tomas.get_by_label("Also alert me while this page is open").check()
    force_presence(SAMUEL, "Available", "Available")
    expect(
        tomas.locator("[data-toast]").filter(has_text="Samuel Ortega is available now.")
    ).to_have_count(2, timeout=ENGINE_TIMEOUT_MS)
    expect(tomas.get_by_role("button", name="Tell me when available")).to_have_attribute(
        "aria-pressed", "false"
    )

    # Put Priya back as Teams would have her.
    page.get_by_role("button", name="Reset status").click()
    expect(page.get_by_role("status").filter(has_text="Your status is reset")).to_be_visible()

    for errors in (watch.console_errors, tomas_watch.console_errors):
        assert errors == []
    assert watch.outside_requests == []
    assert tomas_watch.outside_requests == []


def test_signing_out_stops_that_browsers_live_pages_and_no_others(
    page: Page,
    watch: PageWatch,
    colleague_page: tuple[Page, PageWatch],
    live_stack: Stack,
    directory_synced: None,
) -> None:
    phone, phone_watch = colleague_page
    # Tomas has the wall open in two browsers.
    sign_in(page, live_stack.base_url, TOMAS, next_path="/people/")
    sign_in(phone, live_stack.base_url, TOMAS, next_path="/people/")
    for wall in (page, phone):
        expect(wall.locator("[data-live-status]")).to_have_text("Live", timeout=PUSH_TIMEOUT_MS)

    # He signs out in another tab of the first browser.
    other_tab = page.context.new_page()
    other_tab.goto(f"{live_stack.base_url}/")
    other_tab.get_by_role("button", name="Sign out").click()
    other_tab.wait_for_url(f"{live_stack.base_url}/")

    # The first browser's wall says so at once and offers to sign in again, back to the wall.
    status = page.locator("[data-live-status]")
    expect(status).to_have_text(
        "You signed out of the portal in this browser: live presence has stopped. Sign in again",
        timeout=PUSH_TIMEOUT_MS,
    )
    expect(status.get_by_role("link", name="Sign in again")).to_have_attribute(
        "href", "/accounts/signin/?next=%2Fpeople%2F"
    )
    # The other browser's session goes on, live.
    expect(phone.locator("[data-live-status]")).to_have_text("Live")
    phone.reload()
    expect(phone.locator(".account-name")).to_contain_text("Tomas Lindqvist")
    expect(phone.locator("[data-live-status]")).to_have_text("Live", timeout=PUSH_TIMEOUT_MS)

    for errors in (watch.console_errors, phone_watch.console_errors):
        assert errors == []
    assert watch.outside_requests == []
    assert phone_watch.outside_requests == []


def test_a_dropped_connection_says_reconnecting_and_resyncs(
    page: Page,
    watch: PageWatch,
    live_stack: Stack,
    directory_synced: None,
    simulator_paused: None,
) -> None:
    samuel_card = open_wall_on_samuel(page, live_stack)
    status = page.locator("[data-live-status]")
    badge = samuel_card.locator('[data-field="availability"]')
    # As when an update arrives while a page is cut off: only a resynchronisation shows it.
    store_without_push(live_stack, SAMUEL, "BeRightBack")
    page.wait_for_timeout(1000)
    expect(badge).to_have_text("Away")

    page.evaluate("window.CommsPortalPresence.connection().close()")
    expect(status).to_have_text("Reconnecting…")
    expect(status).to_have_text("Live", timeout=PUSH_TIMEOUT_MS)
    expect(badge).to_have_text("Be right back", timeout=PUSH_TIMEOUT_MS)
    expect(badge).to_have_class("presence-badge presence-berightback")

    assert watch.console_errors == []
    assert watch.outside_requests == []


def test_the_server_losing_redis_makes_the_open_wall_resync(
    page: Page,
    watch: PageWatch,
    live_stack: Stack,
    directory_synced: None,
    simulator_paused: None,
) -> None:
    samuel_card = open_wall_on_samuel(page, live_stack)
    badge = samuel_card.locator('[data-field="availability"]')
    # A change stored while nothing pushes it, as one published during a Redis outage.
    store_without_push(live_stack, SAMUEL, "DoNotDisturb", "Presenting")
    page.wait_for_timeout(1000)
    expect(badge).to_have_text("Away")

    # The server's pub/sub connections drop (a Redis restart does this); the browser's
    # socket stays open, and the server tells the page to re-read what it shows.
    cut = redis.Redis.from_url(live_stack.env["REDIS_URL"]).client_kill_filter(_type="pubsub")
    assert cut >= 1
    expect(badge).to_have_text("Do not disturb", timeout=PUSH_TIMEOUT_MS)
    expect(page.locator("[data-live-status]")).to_have_text("Live")

    # And pushes flow again on the new connection.
    force_presence(SAMUEL, "Busy", "InACall")
    with on_stack_redis(live_stack):
        store.forget([user_id(SAMUEL)])
    expect(samuel_card.locator('[data-field="activity"]')).to_have_text(
        "In a call", timeout=ENGINE_TIMEOUT_MS
    )
    assert watch.console_errors == []
    assert watch.outside_requests == []


def test_the_wall_works_at_phone_width_and_by_keyboard(
    page: Page, watch: PageWatch, live_stack: Stack, directory_synced: None
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in(page, live_stack.base_url, TOMAS, next_path="/people/")
    expect(page.locator("[data-live-status]")).to_have_text("Live", timeout=PUSH_TIMEOUT_MS)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0

    # The search as one types, then a favourite starred from the keyboard.
    page.get_by_role("searchbox", name="Search people").fill("samuel")
    expect(page.locator("[data-person-card]:visible")).to_have_count(1)
    star = card(page, "Samuel Ortega").get_by_role("button", name="Favourite Samuel Ortega")
    star.focus()
    page.keyboard.press("Enter")
    expect(star).to_have_attribute("aria-pressed", "true")
    page.reload()
    first = page.locator("[data-person-card]").first
    expect(first).to_have_attribute("data-display-name", "Samuel Ortega")
    first.get_by_role("button", name="Favourite Samuel Ortega").press("Enter")
    expect(first.get_by_role("button", name="Favourite Samuel Ortega")).to_have_attribute(
        "aria-pressed", "false"
    )
    assert watch.console_errors == []
    assert watch.outside_requests == []
