"""The home page, as a person opens it in a browser."""

from __future__ import annotations

import json
import re
from urllib.request import urlopen

import pytest
from playwright.sync_api import Page, expect

from comms_portal.stack import Stack
from tests.e2e.conftest import PageWatch

pytestmark = pytest.mark.e2e


def test_home_page_loads_without_errors_or_outside_traffic(
    page: Page, live_stack: Stack, watch: PageWatch
) -> None:
    page.goto("/")
    expect(page).to_have_title(re.compile("Comms Portal"))
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    for label in ("People", "Meetings", "Events"):
        expect(page.get_by_role("link", name=label, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Sign in with Microsoft").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert watch.console_errors == []
    assert watch.outside_requests == []


def test_health_report_is_green_when_the_whole_stack_runs(live_stack: Stack) -> None:
    with urlopen(f"{live_stack.base_url}/healthz", timeout=10) as response:
        body = json.load(response)
        assert response.status == 200
    assert body["status"] == "ok"
    assert body["down"] == []
    assert set(body["checks"]) == {"database", "redis", "worker", "graph"}
