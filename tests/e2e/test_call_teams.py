"""An admin manages saved teams in the browser: creates one with the people picker, renames it
and makes it a department (the menu key leading to it follows), is shown where a team is used
before deleting it; a call-out's preview lists the Available member free longest first."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from comms_portal.stack import Stack
from tests.e2e.conftest import PageWatch
from tests.e2e.signin import sign_in
from tests.e2e.test_calls import pick, user_id
from tests.support.cast import AIKO, LENA, MEGAN
from tests.support.session_sandbox import control

pytestmark = pytest.mark.e2e


def test_an_admin_renames_a_saved_team_makes_it_a_department_and_deletes_it(
    page: Page, live_stack: Stack, watch: PageWatch, directory_synced: None
) -> None:
    sign_in(page, live_stack.base_url, MEGAN)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Calls", exact=True
    ).click()
    page.get_by_role("link", name="Saved teams").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Saved teams")

    # A new team of two, picked from the directory by keyboard.
    page.get_by_role("link", name="New team").click()
    page.get_by_label("Name").fill("Night desk")
    page.get_by_label("A hand-picked list").check()
    pick(page, "People (the list, or the one person)", "Aiko Tanaka")
    pick(page, "People (the list, or the one person)", "Lena Brandt")
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Save the team").press("Enter")
    expect(page.get_by_text("The team Night desk is saved.")).to_be_visible()
    row = page.locator('[data-team="Night desk"]')
    expect(row).to_contain_text("Aiko Tanaka, Lena Brandt")
    expect(row).to_contain_text("Not used")

    # Key 4 of the reception menu leads to it.
    page.get_by_role("link", name="Reception line").click()
    page.get_by_label("Key", exact=True).select_option("4")
    page.get_by_label("Label").fill("After hours")
    page.get_by_label("Leads to").select_option("list")
    page.get_by_label("Saved team", exact=True).select_option(label="Night desk")
    page.get_by_role("button", name="Save the key").click()
    expect(page.locator('[data-digit="4"]')).to_contain_text("the team Night desk: Aiko Tanaka")

    # Renamed and made a department: the key follows at once.
    page.get_by_role("link", name="Manage saved teams").click()
    page.get_by_role("link", name="Edit the team Night desk").click()
    expect(page.locator("[data-team-uses]")).to_contain_text("key 4 (After hours)")
    page.get_by_label("Name").fill("Engineering on call")
    page.get_by_label("A department").check()
    page.get_by_label("Department", exact=True).select_option("Engineering")
    page.get_by_role("button", name="Save the team").click()
    row = page.locator('[data-team="Engineering on call"]')
    expect(row).to_contain_text("the Engineering department")
    expect(row).to_contain_text("Key 4 (After hours)")
    page.get_by_role("link", name="Reception line").click()
    expect(page.locator('[data-digit="4"]')).to_contain_text(
        "the team Engineering on call: the Engineering department"
    )

    # Deleting it first says where it is used.
    page.get_by_role("link", name="Delete the team Engineering on call").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Delete the team Engineering on call?"
    )
    expect(page.locator("[data-team-keys]")).to_have_text("Key 4: After hours")
    page.get_by_role("button", name="Delete the team Engineering on call").click()
    expect(page.get_by_text("Menu key(s) 4 keep leading where it did")).to_be_visible()
    expect(page.locator('[data-team="Engineering on call"]')).to_have_count(0)
    page.get_by_role("link", name="Reception line").click()
    expect(page.locator('[data-digit="4"]')).to_contain_text("the Engineering department")
    page.locator('[data-digit="4"]').get_by_role("button", name="Remove key 4").click()
    assert watch.console_errors == []
    assert watch.outside_requests == []


def test_the_call_out_preview_puts_the_member_free_longest_first(
    page: Page, live_stack: Stack, watch: PageWatch, directory_synced: None
) -> None:
    aiko, lena = user_id(AIKO), user_id(LENA)
    control("POST", f"/presence/{aiko}", {"availability": "Away", "activity": "Away"})
    control("POST", f"/presence/{lena}", {"availability": "Available", "activity": "Available"})
    sign_in(page, live_stack.base_url, MEGAN)
    page.goto(f"{live_stack.base_url}/calls/incidents/")
    page.get_by_label("Title").fill("Checkout errors")
    page.get_by_label("Message").fill("Checkout fails.")
    page.get_by_label("Team to call").select_option("list")
    picker = "People (the team picked by hand, or the one person)"
    pick(page, picker, "Aiko Tanaka")
    pick(page, picker, "Lena Brandt")
    page.get_by_role("button", name="Show who will be called").click()
    order = page.get_by_role("table", name=re.compile("Who will be called"))
    expect(order.get_by_role("row", name=re.compile("Lena Brandt"))).to_contain_text("Available")

    # Aiko comes back later: both Available, Lena has been free longer and is called first,
    # though Aiko comes first by name.
    control("POST", f"/presence/{aiko}", {"availability": "Available", "activity": "Available"})
    page.get_by_role("button", name="Show again").click()
    rows = order.locator("tbody tr")
    expect(rows.nth(0)).to_contain_text("Lena Brandt")
    expect(rows.nth(0)).to_contain_text("1")
    expect(rows.nth(1)).to_contain_text("Aiko Tanaka")
    expect(rows.nth(1)).to_contain_text("Available")
    assert watch.console_errors == []
    assert watch.outside_requests == []
