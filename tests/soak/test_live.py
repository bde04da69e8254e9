"""Open pages through faults of the live channel, new subscriptions, sign-out and leavers."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from tests.bench.people import sign_in_over_http
from tests.soak.harness import SoakStack, seconds, sign_out
from tests.soak.report import Row
from tests.soak.scenario import run_scenario, verdict
from tests.support.cast import MARCUS

pytestmark = [pytest.mark.soak, pytest.mark.timeout(900)]


def kill_the_asgi_processes_and_the_pubsub_connections(run: SoakStack) -> dict[str, object]:
    """SIGKILL each ASGI process in turn, then cut every process's Redis pub/sub connection.

    Every page loses its socket once (uvicorn starts a new process for each one killed),
    then is told to resync when its process's pub/sub connection is cut.
    """
    killed = []
    for pid in run.web_processes_pids():
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
        time.sleep(seconds(15))
    cut = run.redis_client().client_kill_filter(_type="pubsub")
    time.sleep(seconds(15))
    return {"asgi_killed": killed, "asgi_after": run.web_processes_pids(), "pubsub_cut": cut}


def pages_reconnected_and_resynced(run: SoakStack, row: Row) -> None:
    assert run.pages is not None
    seen = [(page.name, page.reconnects, page.resyncs) for page in run.pages.pages]
    assert all(reconnects >= 1 and resyncs >= 1 for _, reconnects, resyncs in seen), seen
    assert len(run.web_processes_pids()) == run.web_processes, "uvicorn did not replace them"


def test_asgi_process_and_pubsub_killed() -> None:
    verdict(
        run_scenario(
            "asgi_and_pubsub_killed",
            kill_the_asgi_processes_and_the_pubsub_connections,
            extra_checks=pages_reconnected_and_resynced,
        )
    )


def subscribe_then_change_at_once(run: SoakStack) -> dict[str, object]:
    """Watch new people and change their presence the moment their subscription exists."""
    more = run.watch_more(5)
    run.open_page("page-new", more)
    deadline = time.monotonic() + 120
    while not set(more) <= run.covered():
        if time.monotonic() > deadline:
            raise RuntimeError("no subscription covered the new people in 120 s")
        time.sleep(0.05)
    driver = run.driver()
    for person in more:
        driver.change(person)
    time.sleep(seconds(10))
    return {"new_people": len(more), "changed_at_once": len(driver.made)}


def test_subscription_created_then_presence_changed_at_once() -> None:
    verdict(run_scenario("subscribe_then_change", subscribe_then_change_at_once))


def sign_out_and_disable(run: SoakStack) -> dict[str, object]:
    """Sign one person's browser out, and disable another in the tenant, with pages open."""
    assert run.sandbox is not None and run.pages is not None
    leaver = run.sandbox.info["users"][-1]
    sessions = {
        "signed-out": sign_in_over_http(run.stack_or_fail(), MARCUS),
        "disabled": sign_in_over_http(run.stack_or_fail(), str(leaver["userPrincipalName"])),
    }
    pages = {why: run.pages.open(f"page-{why}", s, run.watched) for why, s in sessions.items()}
    signed_out_status = sign_out(run.base_url, sessions["signed-out"])
    answer = run.control("POST", f"/users/{leaver['id']}", {"accountEnabled": False})
    answer.raise_for_status()
    # The directory sync (every DIRECTORY_SYNC_SECONDS) finds the leaver.
    deadline = time.monotonic() + 150
    while any(page.closed_code is None for page in pages.values()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    messages_at_close = {why: page.messages for why, page in pages.items()}
    time.sleep(5)  # changes go on: none may reach the closed pages
    refused = {}
    for why, session in sessions.items():
        with httpx.Client(base_url=run.base_url, cookies={"sessionid": session}) as http:
            refused[why] = http.get(
                "/people/api/presence", params={"ids": run.watched[0]}
            ).status_code
    return {
        "sign_out_answer": signed_out_status,
        "closed": {why: (p.closed_code, p.closed_reason) for why, p in pages.items()},
        "messages_after_close": {
            why: page.messages - messages_at_close[why] for why, page in pages.items()
        },
        "snapshot_after": refused,
    }


def sockets_closed_for_good(run: SoakStack, row: Row) -> None:
    outcome = row.details["fault"]
    assert outcome["closed"] == {
        "signed-out": (4401, "signed-out"),
        "disabled": (4401, "disabled"),
    }, outcome
    assert outcome["messages_after_close"] == {"signed-out": 0, "disabled": 0}, outcome
    assert all(status in (401, 403) for status in outcome["snapshot_after"].values()), outcome


def test_sign_out_and_disabled_person_close_their_sockets() -> None:
    verdict(
        run_scenario(
            "sign_out_and_disabled",
            sign_out_and_disable,
            stack_options={"extra_env": {"DIRECTORY_SYNC_SECONDS": "60"}},
            extra_checks=sockets_closed_for_good,
        )
    )
