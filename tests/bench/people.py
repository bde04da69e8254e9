"""People signed in to a running portal over HTTP, and the presence subscriptions they own."""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence

import httpx

from comms_portal.celery import app as celery_app
from comms_portal.notifications.models import Subscription
from comms_portal.redis_client import get_redis
from comms_portal.stack import Stack
from presence.polling import covered_ids
from presence.tasks import keep_covered
from tests.support.cast import DEMO_PASSWORD
from tests.support.entra_signin import sign_in

BINDING_COOKIE = "portal_signin"
SESSION_COOKIE = "sessionid"
# A maintenance pass that found the lock taken does nothing; ask again after this long.
MAINTAIN_RETRY_SECONDS = 10.0
# The worker counts as quiet after this many probes in a row found it with nothing to do.
QUIET_PROBES = 2


def sign_in_over_http(stack: Stack, upn: str) -> str:
    """Sign ``upn`` in through the portal's and the authority's real pages; return the session."""
    verify = ssl.create_default_context(cafile=str(stack.sandbox_info["ca_bundle"]))
    with (
        httpx.Client(follow_redirects=False, timeout=30, verify=verify) as portal,
        httpx.Client(follow_redirects=False, timeout=30, verify=verify) as browser,
    ):
        start = portal.get(f"{stack.base_url}/accounts/signin/", params={"login_hint": upn})
        if start.status_code != 302 or BINDING_COOKIE not in portal.cookies:
            raise RuntimeError(f"sign-in did not start for {upn}: {start.status_code}")
        answer = sign_in(
            browser,
            start.headers["location"],
            f"{stack.base_url}/accounts/callback",
            username=upn,
            password=DEMO_PASSWORD,
        )
        done = portal.post(f"{stack.base_url}/accounts/callback", data=answer)
        session = portal.cookies.get(SESSION_COOKIE)
        if done.status_code != 302 or not session:
            raise RuntimeError(f"sign-in did not finish for {upn}: {done.status_code}")
        return session


def wait_for_coverage(person_ids: Sequence[str], *, timeout: float) -> list[Subscription]:
    """Have the worker keep presence covered until ``person_ids`` are."""
    wanted = set(person_ids)
    deadline = time.monotonic() + timeout
    asked_at = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() - asked_at > MAINTAIN_RETRY_SECONDS:
            keep_covered.delay()
            asked_at = time.monotonic()
        if wanted <= covered_ids():
            return list(Subscription.objects.of_kind("presence").order_by("pk"))
        time.sleep(0.5)
    missing = len(wanted - covered_ids())
    raise RuntimeError(f"{missing} of {len(wanted)} people still uncovered after {timeout:.0f} s")


def wait_for_empty_queue(*, timeout: float, queue: str = "celery") -> None:
    """Wait until the worker has taken every queued task (setup polls, say) off the broker."""
    redis = get_redis()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if redis.llen(queue) == 0:
            return
        time.sleep(0.25)
    raise RuntimeError(f"{redis.llen(queue)} tasks still queued after {timeout:.0f} s")


def tasks_in_hand() -> list[str]:
    """Return the names of the tasks the worker is running or holds, and of those queued."""
    inspector = celery_app.control.inspect(timeout=1)
    held = [*(inspector.active() or {}).values(), *(inspector.reserved() or {}).values()]
    names = [str(task.get("name", "?")) for tasks in held for task in tasks]
    queued = int(get_redis().llen("celery"))
    return names + ["(queued)"] * queued


def wait_for_quiet_worker(
    *, timeout: float, ignore: Sequence[str] = ("notifications.drain",)
) -> dict[str, int]:
    """Wait until the worker has no work but ``ignore``'s, queued or in hand; return what it had.

    A worker that just started has work of its own to do: every kind's subscription upkeep,
    and from it the first call-records heal over the 30 days Graph keeps (an hour of records a
    task, hundreds of tasks). Returns, by name, how many times each task was seen meanwhile.
    """
    seen: dict[str, int] = {}
    quiet = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [name for name in tasks_in_hand() if name not in ignore]
        for name in busy:
            seen[name] = seen.get(name, 0) + 1
        quiet = 0 if busy else quiet + 1
        if quiet >= QUIET_PROBES:
            return seen
        time.sleep(0.5)
    raise RuntimeError(f"the worker was still busy after {timeout:.0f} s: {sorted(seen)}")
