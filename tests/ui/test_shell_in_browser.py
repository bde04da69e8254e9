"""The page shell's CSS and script in a real Chromium: menu, flash messages, toasts, phone width.

Pages are rendered by the project's template engine and handed to the browser through request
routing, together with the real files under static/, so nothing listens and nothing leaves.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages.storage.base import Message
from django.template.loader import render_to_string
from playwright.sync_api import (
    Browser,
    Error,
    Page,
    Route,
    ViewportSize,
    expect,
)

from tests.ui.pages import ADELE, LEE, MEGAN, render_page

ORIGIN = "http://127.0.0.1:8999"
STATIC = Path(__file__).resolve().parents[2] / "static"
PHONE: ViewportSize = {"width": 360, "height": 740}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}

FLASHES = [
    Message(message_levels.SUCCESS, "Your status is now Busy for 1 hour."),
    Message(message_levels.WARNING, "Graph is slow; showing the last known presence."),
    Message(message_levels.ERROR, "The meeting needs a subject."),
]


def rendered_pages() -> dict[str, str]:
    return {
        "/": render_page("home.html", portal_user=ADELE, messages=FLASHES),
        "/signed-out/": render_page("home.html", path="/signed-out/", portal_user=None),
        "/admin-home/": render_page("home.html", portal_user=MEGAN, active_nav="people"),
        "/reauth/": render_page("home.html", path="/reauth/", portal_user=LEE),
        "/missing/": render_page("404.html", path="/missing/", portal_user=ADELE),
        "/forbidden/": render_page("403.html", path="/forbidden/", portal_user=None),
        "/broken/": render_to_string("500.html"),
    }


@dataclass
class Visit:
    """A browser tab on the rendered pages, with everything that went wrong on it."""

    page: Page
    problems: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return rendered_pages()


def open_tab(
    browser: Browser, pages: dict[str, str], viewport: ViewportSize, *, scripts: bool = True
) -> Visit:
    context = browser.new_context(base_url=ORIGIN, viewport=viewport, java_script_enabled=scripts)
    visit = Visit(page=context.new_page())

    def serve(route: Route) -> None:
        url = urlsplit(route.request.url)
        if f"{url.scheme}://{url.netloc}" != ORIGIN:
            visit.problems.append(f"outside request {route.request.url}")
            route.abort()
        elif url.path in pages:
            route.fulfill(status=200, content_type="text/html", body=pages[url.path])
        elif url.path.startswith("/static/") and (STATIC / url.path[8:]).is_file():
            file = STATIC / url.path[8:]
            content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            route.fulfill(status=200, content_type=content_type, body=file.read_bytes())
        else:
            visit.problems.append(f"404 {url.path}")
            route.fulfill(status=404, body="not found")

    context.route("**/*", serve)
    visit.page.on(
        "console",
        lambda message: (
            visit.problems.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    visit.page.on("pageerror", lambda error: visit.problems.append(f"page error: {error}"))
    return visit


@pytest.fixture
def phone(browser: Browser, pages: dict[str, str]) -> Iterator[Visit]:
    visit = open_tab(browser, pages, PHONE)
    yield visit
    visit.page.context.close()


@pytest.fixture
def desktop(browser: Browser, pages: dict[str, str]) -> Iterator[Visit]:
    visit = open_tab(browser, pages, DESKTOP)
    yield visit
    visit.page.context.close()


@pytest.mark.parametrize(
    "path",
    ["/", "/signed-out/", "/admin-home/", "/reauth/", "/missing/", "/forbidden/", "/broken/"],
)
def test_every_page_fits_a_phone_without_errors(phone: Visit, path: str) -> None:
    phone.page.goto(path)
    phone.page.wait_for_load_state("networkidle")
    toggle = phone.page.locator("[data-menu-toggle]")
    if toggle.count():
        toggle.click()
    scroll_width, client_width = phone.page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll_width <= client_width
    assert phone.problems == []


def test_phone_menu_opens_closes_and_returns_focus(phone: Visit) -> None:
    page = phone.page
    page.goto("/")
    toggle = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="People")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    expect(toggle).to_be_focused()
    assert phone.problems == []


def test_phone_menu_stays_open_when_scripts_are_off(
    browser: Browser, pages: dict[str, str]
) -> None:
    visit = open_tab(browser, pages, PHONE, scripts=False)
    try:
        visit.page.goto("/")
        expect(visit.page.get_by_role("navigation", name="Main")).to_be_visible()
        expect(visit.page.locator("[data-menu-toggle]")).to_be_hidden()
        expect(visit.page.get_by_role("button", name="Dismiss message")).to_have_count(0)
    finally:
        visit.page.context.close()


def test_wide_screen_shows_navigation_and_marks_the_current_page(desktop: Visit) -> None:
    page = desktop.page
    page.goto("/admin-home/")
    nav = page.get_by_role("navigation", name="Main")
    expect(page.locator("[data-menu-toggle]")).to_be_hidden()
    for name in ("People", "Meetings", "Events", "Admin"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    expect(nav.locator("[aria-current=page]")).to_have_text("People")
    assert desktop.problems == []


def test_dismissing_a_flash_removes_it_and_keeps_focus_nearby(desktop: Visit) -> None:
    page = desktop.page
    page.goto("/")
    dismiss = page.get_by_role("button", name="Dismiss message")
    expect(dismiss).to_have_count(3)
    expect(page.get_by_role("alert")).to_have_count(2)

    dismiss.first.click()
    # The message leaves the page's list; its read-out copy in the polite region may stay.
    flashes = page.locator(".flash-list")
    expect(flashes.get_by_text("Your status is now Busy for 1 hour.")).to_have_count(0)
    expect(dismiss).to_have_count(2)
    expect(dismiss.first).to_be_focused()

    dismiss.first.click()
    dismiss.first.click()
    expect(page.locator(".flash-list")).to_have_count(0)
    expect(page.locator("#main")).to_be_focused()
    assert desktop.problems == []


def test_toast_appears_in_the_polite_region_and_expires(desktop: Visit) -> None:
    page = desktop.page
    page.goto("/")
    page.evaluate(
        "CommsPortal.toast('Adele Vance is now available', {level: 'success', timeout: 400})"
    )
    region = page.locator("#toast-region[aria-live=polite]")
    toast = region.locator("[data-toast=success]")
    expect(toast).to_have_text("Adele Vance is now available")
    expect(toast).to_have_count(0, timeout=3000)
    assert desktop.problems == []


def test_sticky_toast_names_its_level_and_closes_on_request(desktop: Visit) -> None:
    page = desktop.page
    page.goto("/")
    page.evaluate(
        "CommsPortal.toast('Reconnecting to live updates', {level: 'warning', timeout: 0})"
    )
    toast = page.locator("[data-toast=warning]")
    expect(toast).to_have_text("Warning: Reconnecting to live updates")
    page.wait_for_timeout(700)
    expect(toast).to_have_count(1)
    toast.get_by_role("button", name="Dismiss notification").click()
    expect(toast).to_have_count(0)
    assert desktop.problems == []


def test_toast_text_is_shown_as_text_not_markup(desktop: Visit) -> None:
    page = desktop.page
    page.goto("/")
    page.evaluate("CommsPortal.toast('<img src=x onerror=alert(1)>', {timeout: 0})")
    expect(page.locator("#toast-region img")).to_have_count(0)
    expect(page.locator("[data-toast=info]")).to_have_text("<img src=x onerror=alert(1)>")


@pytest.mark.parametrize(
    ("call", "complaint"),
    [
        ("CommsPortal.toast('Hi', {level: 'loud'})", 'unknown level "loud"'),
        ("CommsPortal.toast('   ')", "message must be a non-empty string"),
        ("CommsPortal.toast(42)", "message must be a non-empty string"),
        ("CommsPortal.toast('Hi', {timeout: -5})", "timeout must be a number"),
    ],
)
def test_toast_refuses_bad_arguments_with_a_clear_error(
    desktop: Visit, call: str, complaint: str
) -> None:
    page = desktop.page
    page.goto("/")
    with pytest.raises(Error, match=complaint):
        page.evaluate(call)
    expect(page.locator("[data-toast]")).to_have_count(0)


def test_presence_icons_differ_by_shape_not_only_colour(desktop: Visit) -> None:
    page = desktop.page
    page.goto("/signed-out/")
    icons = page.evaluate(
        """() => Object.fromEntries(
            [...document.querySelectorAll('.legend .presence-badge')].map((badge) => {
                const icon = getComputedStyle(badge, '::before');
                return [badge.textContent.trim(),
                        [icon.maskImage, icon.backgroundColor, icon.width]];
            }))"""
    )
    # Every status the legend lists is drawn with a shape of its own, as the page says.
    assert len(icons) == 10
    assert len({mask for mask, _, _ in icons.values()}) == 10
    assert all(mask.startswith('url("data:image/svg+xml') for mask, _, _ in icons.values())
    assert all(width != "0px" for _, _, width in icons.values())
    assert icons["Available"][1] != icons["Busy"][1]
