"""Signing in with Microsoft, as people do it in the browser."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from comms_portal.stack import Stack
from tests.e2e.conftest import PageWatch
from tests.e2e.signin import sign_in, submit_credentials
from tests.support.cast import GRACE, JORDAN_OTHER_TENANT, MEGAN, PRIYA, SAMUEL

pytestmark = pytest.mark.e2e


def test_person_signs_in_sees_their_name_and_signs_out(
    page: Page, live_stack: Stack, watch: PageWatch
) -> None:
    sign_in(page, live_stack.base_url, PRIYA)
    expect(page.get_by_text("Signed in as")).to_be_attached()
    expect(page.locator(".account-name")).to_contain_text("Priya Natarajan")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_stack.base_url}/")
    expect(page.get_by_role("link", name="Sign in with Microsoft").first).to_be_visible()
    expect(page.locator(".account-name")).to_have_count(0)
    assert watch.console_errors == []
    assert watch.outside_requests == []


def test_signing_in_returns_the_person_to_the_page_they_asked_for(
    page: Page, live_stack: Stack
) -> None:
    sign_in(page, live_stack.base_url, PRIYA, next_path="/healthz")
    assert page.url == f"{live_stack.base_url}/healthz"


def test_the_admin_app_role_makes_a_portal_admin(page: Page, live_stack: Stack) -> None:
    sign_in(page, live_stack.base_url, MEGAN)
    main_nav = page.get_by_role("navigation", name="Main")
    expect(main_nav.get_by_role("link", name="Admin")).to_be_visible()


def test_a_wrong_password_is_refused_on_the_sign_in_page(page: Page, live_stack: Stack) -> None:
    page.goto(f"{live_stack.base_url}/accounts/signin/")
    submit_credentials(page, PRIYA, "not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("password")
    expect(page.locator("input[name=passwd]")).to_be_visible()
    page.goto(f"{live_stack.base_url}/")
    expect(page.locator(".account-name")).to_have_count(0)


def test_refused_consent_ends_on_a_page_that_offers_to_try_again(
    page: Page, live_stack: Stack
) -> None:
    grace = next(u for u in live_stack.sandbox_info["users"] if u["userPrincipalName"] == GRACE)
    # As if Grace withdrew her consent: the consent page is shown again.
    withdrawn = httpx.post(
        live_stack.sandbox_info["control_url"] + "/consents/withdraw",
        json={"user_id": grace["id"]},
        timeout=10,
    )
    withdrawn.raise_for_status()
    sign_in(page, live_stack.base_url, GRACE, consent="cancel")
    expect(page.get_by_role("heading", name="Sign-in did not complete")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("cancelled")
    expect(page.get_by_role("link", name="Try again")).to_be_visible()
    expect(page.locator(".account-name")).to_have_count(0)


def test_an_account_of_another_tenant_is_refused(page: Page, live_stack: Stack) -> None:
    # The portal signs in through its own tenant's authority, which knows no outsiders.
    # (With a multi-tenant authority the portal's own tenant check refuses them instead;
    # tests/accounts covers that path.)
    page.goto(f"{live_stack.base_url}/accounts/signin/")
    submit_credentials(page, JORDAN_OTHER_TENANT)
    expect(page.get_by_role("alert")).to_contain_text("couldn't find an account")
    page.goto(f"{live_stack.base_url}/")
    expect(page.locator(".account-name")).to_have_count(0)


def test_a_replayed_sign_in_answer_is_refused(page: Page, live_stack: Stack) -> None:
    captured: list[dict[str, str]] = []

    def keep_callback_form(request: object) -> None:
        post = getattr(request, "post_data", None)
        if getattr(request, "url", "").endswith("/accounts/callback") and post:
            captured.append({"body": post})

    page.on("request", keep_callback_form)
    sign_in(page, live_stack.base_url, SAMUEL)
    assert captured, "the authority's answer never reached the callback"
    replay = page.request.post(
        f"{live_stack.base_url}/accounts/callback",
        data=captured[0]["body"],
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert replay.status == 400
    assert "expired or was already used" in replay.text()
