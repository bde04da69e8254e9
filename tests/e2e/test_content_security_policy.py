"""The Content-Security-Policy in a real browser: every page works under it, nothing is blocked."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from comms_portal.stack import Stack
from tests.e2e.conftest import PageWatch
from tests.e2e.signin import sign_in
from tests.support.cast import MEGAN, SAMUEL

pytestmark = pytest.mark.e2e

# Each document records the violations the browser reports, before any script of ours runs.
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI}`);
});
"""
PUSH_TIMEOUT_MS = 10_000


def test_the_wall_a_person_my_status_and_admin_work_under_the_policy(
    page: Page, live_stack: Stack, watch: PageWatch
) -> None:
    page.add_init_script(RECORD_VIOLATIONS)
    # Megan is an admin, so one sign-in reaches every page.
    sign_in(page, live_stack.base_url, MEGAN)
    samuel = next(u for u in live_stack.sandbox_info["users"] if u["userPrincipalName"] == SAMUEL)
    pages = {
        "wall": "/people/",
        "person": f"/people/{samuel['id']}/",
        "my status": "/people/me/status/",
        "admin": "/admin-portal/",
    }
    for name, path in pages.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, name
        policy = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy, name
        if name != "admin":
            # The live socket opened under connect-src: the page says it is live.
            expect(page.locator("[data-live-status]")).to_have_text("Live", timeout=PUSH_TIMEOUT_MS)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.cspViolations") == [], name
    assert watch.console_errors == []
    assert watch.outside_requests == []


def test_a_page_cannot_run_inline_script_or_be_framed(
    page: Page, live_stack: Stack, watch: PageWatch
) -> None:
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto("/")
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.injected = true;";
          document.body.append(script);
        }"""
    )
    assert page.evaluate("window.injected === undefined")
    violations = page.evaluate("window.cspViolations")
    assert violations == ["script-src-elem blocked inline"]
    policy = page.request.get("/").headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
