"""Finding a colleague on the wall in a real browser: search, list view, actions, alerts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from comms_portal.stack import Stack
from tests.e2e.conftest import PageWatch
from tests.e2e.signin import sign_in
from tests.e2e.test_presence_wall import simulator_paused  # noqa: F401  (fixture)
from tests.support.cast import AIKO, LENA, PRIYA, SAMUEL

pytestmark = pytest.mark.e2e

SEARCH_TIMEOUT_MS = 10_000
# Most available first, as the wall's "Available first" order ranks them.
AVAILABILITY_ORDER = [
    "Available",
    "AvailableIdle",
    "BeRightBack",
    "Away",
    "Busy",
    "BusyIdle",
    "DoNotDisturb",
    "Offline",
]


def person(page: Page, name: str) -> Locator:
    return page.locator(f'[data-person-card][data-display-name="{name}"]')


def shown_names(page: Page) -> list[str]:
    return page.locator("[data-person-card]").evaluate_all(
        "people => people.map(p => p.dataset.displayName)"
    )


def open_wall(page: Page, stack: Stack, upn: str) -> None:
    sign_in(page, stack.base_url, upn, next_path="/people/")
    expect(page.get_by_role("heading", name="Who is available")).to_be_visible()


def test_typing_finds_job_titles_and_misspelled_names_without_apply(
    page: Page, watch: PageWatch, live_stack: Stack, directory_synced: None
) -> None:
    open_wall(page, live_stack, AIKO)
    search = page.get_by_role("searchbox", name="Search people")
    count = page.locator("[data-wall-count]")
    expect(count).to_have_attribute("role", "status")

    # "/" from anywhere on the page (but another field) jumps to the search.
    page.get_by_role("heading", name="Who is available").click()
    page.keyboard.press("/")
    expect(search).to_be_focused()
    page.keyboard.type("Head of Fin")
    expect(count).to_have_text("1 person matches.", timeout=SEARCH_TIMEOUT_MS)
    assert shown_names(page) == ["Samuel Ortega"]
    assert "q=Head+of+Fin" in page.url

    # A typo: the wall still finds her, says so, and the page never reloaded meanwhile.
    page.evaluate("window.__sameDocument = true")
    search.fill("Natarjan")
    expect(person(page, "Priya Natarajan")).to_be_visible(timeout=SEARCH_TIMEOUT_MS)
    expect(count).to_contain_text("No exact match for “Natarjan”")
    assert shown_names(page)[0] == "Priya Natarajan"

    # No one at all: the message is in the live region too.
    search.fill("Zzyzxquorb")
    expect(count).to_have_text(re.compile("^No one matches “Zzyzxquorb”"))
    expect(page.locator("[data-wall-empty]")).to_be_visible()

    # Escape clears the search and shows everyone again.
    search.press("Escape")
    expect(search).to_have_value("")
    expect(count).to_have_text(re.compile(r"^[\d,]+ people shown\.$"))
    assert len(shown_names(page)) > 1
    assert page.evaluate("window.__sameDocument === true")

    # "/" typed into another field is just a character.
    finder = page.get_by_role("combobox", name="Find a person")
    finder.click()
    page.keyboard.type("a/b")
    expect(finder).to_have_value("a/b")
    expect(finder).to_be_focused()
    assert watch.console_errors == []
    assert watch.outside_requests == []


def test_list_view_sorts_by_availability_and_keeps_the_choice(
    page: Page, watch: PageWatch, live_stack: Stack, directory_synced: None
) -> None:
    open_wall(page, live_stack, LENA)
    page.get_by_role("radio", name="List").check()
    table = page.get_by_role("table")
    expect(table).to_be_visible(timeout=SEARCH_TIMEOUT_MS)
    header = table.get_by_role("columnheader", name="Availability")
    sort = header.get_by_role("button", name="Availability")
    sort.click()
    expect(header).to_have_attribute("aria-sort", "ascending", timeout=SEARCH_TIMEOUT_MS)
    # The results were redrawn; the focus is back on the button that sorted them.
    expect(table.get_by_role("button", name="Availability")).to_be_focused()
    ranks = [
        AVAILABILITY_ORDER.index(value) if value in AVAILABILITY_ORDER else len(AVAILABILITY_ORDER)
        for value in table.locator("[data-person-card]").evaluate_all(
            "rows => rows.map(r => r.dataset.availability)"
        )
    ]
    assert ranks == sorted(ranks)
    # Each row has the person's photo, name, presence, since with its clock time, and more.
    row = table.locator("[data-person-card]").first
    expect(row.get_by_role("rowheader")).to_have_count(1)
    expect(row.locator("img.person-photo")).to_have_count(1)

    page.reload()
    expect(page.get_by_role("table")).to_be_visible()
    expect(
        page.get_by_role("table").get_by_role("columnheader", name="Availability")
    ).to_have_attribute("aria-sort", "ascending")
    expect(page.get_by_role("radio", name="List")).to_be_checked()

    # Sorting the same column again reverses it.
    page.get_by_role("table").get_by_role("button", name="Availability").click()
    expect(
        page.get_by_role("table").get_by_role("columnheader", name="Availability")
    ).to_have_attribute("aria-sort", "descending", timeout=SEARCH_TIMEOUT_MS)

    # Back to cards by name, as the other tests expect this person's wall.
    page.get_by_role("combobox", name="Sort by").select_option("name")
    page.get_by_role("radio", name="Cards").check()
    expect(page.locator("ul.people-grid")).to_be_visible(timeout=SEARCH_TIMEOUT_MS)
    assert watch.console_errors == []
    assert watch.outside_requests == []


# Samuel held away from Available: a simulated change would fire the bell's one-shot alert
# and reset the bell while the test still expects it to show that one waits.
@pytest.mark.usefixtures("simulator_paused")
def test_actions_on_a_card_keep_focus_and_say_what_they_did(
    page: Page, watch: PageWatch, live_stack: Stack, directory_synced: None
) -> None:
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=live_stack.base_url
    )
    open_wall(page, live_stack, AIKO)
    page.get_by_role("searchbox", name="Search people").fill("samuel ortega")
    samuel = person(page, "Samuel Ortega")
    expect(samuel).to_be_visible(timeout=SEARCH_TIMEOUT_MS)
    expect(page.locator("[data-person-card]")).to_have_count(1)

    # Teams opens a chat, a call or a video call with his sign-in name.
    links = {
        "Chat with Samuel Ortega, Head of Finance in Teams": "chat/0/0?users=" + SAMUEL,
        "Call Samuel Ortega, Head of Finance in Teams": "call/0/0?users=" + SAMUEL,
        "Video call Samuel Ortega, Head of Finance in Teams": (
            "call/0/0?users=" + SAMUEL + "&withVideo=true"
        ),
    }
    for name, tail in links.items():
        expect(samuel.get_by_role("link", name=name, exact=True)).to_have_attribute(
            "href", "https://teams.microsoft.com/l/" + tail
        )

    # The star keeps the focus while it saves.
    star = samuel.get_by_role("button", name="Favourite Samuel Ortega, Head of Finance")
    star.focus()
    page.keyboard.press("Enter")
    expect(star).to_have_attribute("aria-pressed", "true")
    expect(star).to_be_focused()
    page.keyboard.press("Enter")
    expect(star).to_have_attribute("aria-pressed", "false")
    expect(star).to_be_focused()

    # The bell shows that one waits, and the header's inbox lists him.
    bell = samuel.get_by_role(
        "button", name="Tell me when Samuel Ortega, Head of Finance is available"
    )
    expect(bell).to_have_attribute("aria-pressed", "false")
    bell.click()
    expect(bell).to_have_attribute("aria-pressed", "true")
    expect(bell.get_by_text("Waiting")).to_be_visible()
    expect(bell).to_be_focused()
    alerts = page.get_by_role("button", name="Alerts")
    alerts.click()
    expect(alerts).to_have_attribute("aria-expanded", "true")
    panel = page.locator("#alerts-panel")
    expect(panel.get_by_role("heading", name="Waiting for")).to_be_visible()
    expect(panel.get_by_role("link", name="Samuel Ortega")).to_be_visible()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(alerts).to_be_focused()
    bell.click()
    expect(bell).to_have_attribute("aria-pressed", "false")
    expect(bell.get_by_text("Waiting")).to_be_hidden()

    # Copying his address puts it on the clipboard and says so politely.
    samuel.get_by_role("button", name="Copy the e-mail address of Samuel Ortega").click()
    expect(page.locator("#toast-region")).to_contain_text(f"Copied {SAMUEL}.")
    assert page.evaluate("navigator.clipboard.readText()") == SAMUEL
    assert watch.console_errors == []
    assert watch.outside_requests == []


def test_skip_link_leads_past_the_filters_to_the_people(
    page: Page, watch: PageWatch, live_stack: Stack, directory_synced: None
) -> None:
    open_wall(page, live_stack, PRIYA)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to people")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#people")).to_be_focused()
    # The next Tab lands on the first person, not on a filter.
    page.keyboard.press("Tab")
    first = page.locator("[data-person-card]").first
    assert first.evaluate("(card) => card.contains(document.activeElement)")
    assert watch.console_errors == []
