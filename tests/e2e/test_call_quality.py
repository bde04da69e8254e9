"""An admin finds the calls that went bad on weak Wi-Fi; a person reads their own calls."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from comms_portal.stack import Stack
from tests.callrecords.cast_calls import make_cast_calls
from tests.e2e.conftest import REPO, PageWatch
from tests.e2e.signin import sign_in
from tests.support.cast import MEGAN, PRIYA, SAMUEL

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def calls(live_stack: Stack) -> dict[str, str]:
    """Make the named calls in the sandbox and have the stack collect them."""
    info: dict[str, Any] = json.loads(Path(os.environ["SANDBOX_INFO_FILE"]).read_text())

    def control(method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(method, info["control_url"] + path, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    made = make_cast_calls(control, info, tag="browser")
    command = [sys.executable, "manage.py", "collect_call_records"]
    for graph_id in made.values():
        command += ["--id", graph_id]
    subprocess.run(
        command, cwd=REPO, env=live_stack.env, check=True, capture_output=True, timeout=120
    )
    return made


def test_an_admin_finds_the_weak_wifi_calls_and_reads_why(
    page: Page, live_stack: Stack, watch: PageWatch, calls: dict[str, str]
) -> None:
    sign_in(page, live_stack.base_url, MEGAN)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Call quality").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Call quality")
    networks = page.locator('table[data-table="network"]')
    expect(networks.locator('tr[data-key="wifi-24"]')).to_contain_text("Wi-Fi 2.4 GHz")
    # Among the calls between two people, the weak Wi-Fi one is the worst of all.
    page.get_by_label("Call type").select_option(label="Calls between two people")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**call_type=peerToPeer**")
    worst = page.locator(f'table[data-table="worst"] tr[data-call="{calls["weak-wifi"]}"]')
    expect(worst).to_contain_text("Wi-Fi 2.4 GHz")
    expect(worst).to_contain_text("Samuel Ortega")
    expect(page.locator(f'tr[data-call="{calls["fine"]}"]')).to_have_count(0)

    worst.get_by_role("link").click()

    expect(page).to_have_title(re.compile("^Call timeline"))
    summary = page.locator("#call-summary")
    expect(summary).to_contain_text("packet loss")
    expect(summary).to_contain_text("Wi-Fi 2.4 GHz (signal")
    expect(page.locator(".stream-poor").first).to_contain_text("Poor because of")
    page.wait_for_load_state("networkidle")
    assert watch.console_errors == [] and watch.outside_requests == []


def test_a_person_sees_their_own_calls_and_no_one_elses(
    page: Page, live_stack: Stack, watch: PageWatch, calls: dict[str, str]
) -> None:
    sign_in(page, live_stack.base_url, SAMUEL)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My calls").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("My calls")
    mine = page.locator(f'[data-call="{calls["weak-wifi"]}"]')
    expect(mine).to_have_attribute("data-verdict", "poor")
    expect(mine).to_contain_text("Likely cause: weak Wi-Fi")
    expect(page.get_by_role("heading", name="Tips")).to_be_visible()
    expect(page.locator(f'[data-call="{calls["fine"]}"]')).to_have_count(0)
    expect(page.locator(f'[data-call="{calls["vpn"]}"]')).to_have_count(0)
    # The call dashboard is not for him, nor is Priya's call.
    expect(page.get_by_role("link", name="Call quality")).to_have_count(0)
    assert page.goto(f"/call-quality/calls/{calls['fine']}/").status == 404  # type: ignore[union-attr]
    assert page.goto("/call-quality/").status == 403  # type: ignore[union-attr]
    assert watch.outside_requests == []


def test_a_person_with_good_calls_is_told_so(
    page: Page, live_stack: Stack, calls: dict[str, str]
) -> None:
    sign_in(page, live_stack.base_url, PRIYA, next_path="/call-quality/mine/")

    fine = page.locator(f'[data-call="{calls["fine"]}"]')
    expect(fine).to_have_attribute("data-verdict", "good")
    expect(fine).to_contain_text("Good")
