"""A whole company on the live channel: every employee's wall page open at once.

10,000 websocket clients each watch 60 people (one wall page) of the whole 10,000-person
tenant, on the ASGI processes the benchmark starts, while presence changes at 20 a second.
The path is the latency benchmark's (sandbox -> webhook -> worker -> Redis -> fan-out ->
socket); what this adds is the count of sockets, the subscriptions covering everyone, and the
memory each open socket costs the ASGI processes.

The clients share the sessions of the signed-in owners whose subscriptions cover the tenant
(17 for 10,000 people): 10,000 real sign-ins would take longer than the measurement and
measure the sign-in pages, not the live channel.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvloop

from comms_portal.stack import Stack
from directory.models import Person
from presence.forms import MAX_SNAPSHOT_IDS
from tests.bench.harness import BenchEnvironment, portal_running
from tests.bench.latency import (
    COLUMNS,
    COVERAGE_SECONDS,
    FANOUTS,
    GOAL_P99_MS,
    NOTES,
    PER_SUBSCRIPTION,
    LatencyRun,
    WatchingClient,
    details,
    draw_watch_lists,
    measure_clients,
    pool_of_people,
    row,
    score,
)
from tests.bench.people import sign_in_over_http, wait_for_coverage, wait_for_empty_queue
from tests.bench.report import Section

PAGE_SIZE = 4096


@dataclass
class Memory:
    """Resident memory of the ASGI processes before and after the sockets opened."""

    before: int = 0
    after: int = 0

    def per_socket(self, sockets: int) -> float | None:
        """Return the growth per open socket, in KiB."""
        if not sockets or not self.after:
            return None
        return round((self.after - self.before) / sockets / 1024, 1)


def owners_of(pool_size: int) -> list[str]:
    """Return the sign-in names of enough people for subscriptions covering ``pool_size``."""
    needed = -(-pool_size // PER_SUBSCRIPTION) + 1
    return list(
        Person.objects.visible()
        .order_by("pk")
        .values_list("user_principal_name", flat=True)[:needed]
    )


def mark_pool_watched(stack: Stack, session: str, pool: Sequence[str]) -> None:
    """Ask the snapshot endpoint for the whole pool, as the open wall pages together do."""
    with httpx.Client(base_url=stack.base_url, timeout=120) as http:
        for start in range(0, len(pool), MAX_SNAPSHOT_IDS):
            answer = http.get(
                "/people/api/presence",
                params={"ids": ",".join(pool[start : start + MAX_SNAPSHOT_IDS])},
                cookies={"sessionid": session},
            )
            answer.raise_for_status()


def asgi_rss_bytes(stack: Stack) -> int:
    """Return the resident memory of the ASGI server's processes (its process group)."""
    web = next(child for child in stack.supervisor.children if child.name == "web")
    group = web.process.pid
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process has gone
        # After the command name: state, ppid, pgrp, ..., rss (in pages) is field 24.
        if int(fields[2]) == group:
            total += int(fields[21]) * PAGE_SIZE
    return total


def measure(bench: BenchEnvironment, fanout: str) -> tuple[LatencyRun, Memory, int]:
    """Start the portal, open every employee's page, and measure; return the owners count."""
    sizes = bench.sizes
    run = LatencyRun(name=f"company-{fanout}", fanout=fanout)
    memory = Memory()
    with portal_running(bench, name=run.name, extra_env={"LIVE_FANOUT": fanout}) as stack:
        pool = pool_of_people(sizes.company_pool)
        owners = owners_of(len(pool))
        started = time.monotonic()
        sessions = [sign_in_over_http(stack, upn) for upn in owners]
        stack.supervisor.say(
            "bench", f"{len(owners)} owners signed in in {time.monotonic() - started:.1f} s"
        )
        lists = draw_watch_lists(pool, sizes.company_clients, sizes.company_watch)
        clients = [
            WatchingClient(index, sessions[index % len(sessions)], watched)
            for index, watched in enumerate(lists)
        ]
        mark_pool_watched(stack, sessions[0], pool)
        subscriptions = wait_for_coverage(pool, timeout=COVERAGE_SECONDS * 3)
        wait_for_empty_queue(timeout=COVERAGE_SECONDS * 3)
        stack.supervisor.say("bench", f"{len(subscriptions)} presence subscriptions cover the pool")
        memory.before = asgi_rss_bytes(stack)

        def opened() -> None:
            memory.after = asgi_rss_bytes(stack)

        changes = uvloop.run(measure_clients(bench, stack, clients, run, when_watching=opened))
        score(run, clients, changes, run.name)
    return run, memory, len(owners)


def run(bench: BenchEnvironment) -> Section:
    """Measure the live channel with every employee's page open, on each fan-out."""
    sizes = bench.sizes
    section = Section(
        name="company",
        title=f"A whole company's pages open (goal: p99 under {GOAL_P99_MS} ms)",
        columns=[*COLUMNS, "KiB per socket"],
    )
    owners = 0
    for fanout in FANOUTS:
        measured, memory, owners = measure(bench, fanout)
        section.rows.append(
            {
                **row(measured, sizes.company_clients),
                "KiB per socket": memory.per_socket(sizes.company_clients),
            }
        )
        result: dict[str, Any] = details(measured)
        result["asgi_rss_before_bytes"] = memory.before
        result["asgi_rss_after_bytes"] = memory.after
        section.details[fanout] = result
    section.details["owners"] = owners
    section.notes += [
        f"{sizes.company_clients:,} websocket clients x {sizes.company_watch} watched people, "
        f"drawn from all {sizes.company_pool:,} people, covered by {owners} signed-in owners' "
        f"subscriptions; the clients share those {owners} sessions; "
        f"{sizes.change_rate:g} changes/s for {sizes.change_seconds:g} s, per fan-out",
        "KiB per socket: resident memory of the ASGI processes with every socket open and "
        "watching, less before any opened, divided by the sockets",
        *NOTES,
    ]
    return section
