"""Background work acts as a person who signed in through the browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from celery import Celery
from django.conf import settings
from playwright.sync_api import Page, expect

from comms_portal.stack import Stack
from tests.e2e.signin import sign_in
from tests.support.cast import AIKO

pytestmark = pytest.mark.e2e


@pytest.fixture
def sandbox_control(live_stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_stack.sandbox_info["control_url"], timeout=10) as client:
        yield client
        client.post("/clock", json={"reset": True}).raise_for_status()


def run_in_worker(live_stack: Stack, task: str) -> None:
    """Send a task by name to the stack's own Celery worker, as beat would."""
    broker = Celery(broker=live_stack.env["REDIS_URL"])
    broker.send_task(task)
    broker.close()


def reload_until(page: Page, check: str, *, text: str, attempts: int = 40) -> None:
    for _ in range(attempts):
        page.reload()
        found = page.locator(check)
        if found.count() and text in (found.first.text_content() or ""):
            return
        page.wait_for_timeout(500)
    expect(page.locator(check).first).to_contain_text(text)


def test_a_task_refreshes_an_expired_token_then_stops_when_the_grant_is_revoked(
    page: Page, live_stack: Stack, sandbox_control: httpx.Client
) -> None:
    sign_in(page, live_stack.base_url, AIKO)
    expect(page.locator(".account-name")).to_contain_text("Aiko Tanaka")
    aiko = next(u for u in live_stack.sandbox_info["users"] if u["userPrincipalName"] == AIKO)

    renamed = sandbox_control.post(f"/users/{aiko['id']}", json={"displayName": "Aiko Tanaka-Sato"})
    renamed.raise_for_status()
    try:
        # Two hours on, the access token the portal holds is expired for the authority.
        sandbox_control.post("/clock", json={"advance_seconds": 7200}).raise_for_status()
        run_in_worker(live_stack, "accounts.tasks.refresh_all_profiles")
        reload_until(page, ".account-name", text="Aiko Tanaka-Sato")
        expect(page.get_by_role("link", name="Sign in again")).to_have_count(0)

        sandbox_control.post("/tokens/revoke", json={"user_id": aiko["id"]}).raise_for_status()
        sandbox_control.post("/clock", json={"advance_seconds": 7200}).raise_for_status()
        run_in_worker(live_stack, "accounts.tasks.refresh_all_profiles")
        reload_until(page, "[role=alert]", text="You need to sign in again")
        expect(page.get_by_role("link", name="Sign in again")).to_be_visible()
    finally:
        sandbox_control.post(f"/users/{aiko['id']}", json={"displayName": "Aiko Tanaka"})


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_the_worker_runs_tasks_below_the_web_processes_cpu_priority(live_stack: Stack) -> None:
    by_name = {child.name: child.process.pid for child in live_stack.supervisor.children}
    web_priority = os.getpriority(os.PRIO_PROCESS, by_name["web"])
    pool = _children(by_name["worker"])
    assert pool, "the worker has started no pool processes"
    for pid in pool:
        assert os.getpriority(os.PRIO_PROCESS, pid) == web_priority + settings.WORKER_NICENESS
