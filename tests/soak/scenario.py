"""One soak scenario from start to verdict: load, fault, convergence, accounting, leftovers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.soak.harness import CONVERGE_SECONDS, SoakStack
from tests.soak.pages import Page
from tests.soak.report import Row, record
from tests.support.process_table import describe

# Changes a second while the fault lasts; the pages see every one of them.
RATE = 2.0
WARM_UP_SECONDS = 5.0
PAGES = 4
DRAIN_SECONDS = 120.0


@dataclass
class Outcome:
    """What a scenario's run found, for its own assertions."""

    run: SoakStack
    row: Row


def run_scenario(
    name: str,
    fault: Callable[[SoakStack], Any],
    *,
    rate: float = RATE,
    bound: float = CONVERGE_SECONDS,
    check_accounting: bool = True,
    stack_options: dict[str, Any] | None = None,
    extra_checks: Callable[[SoakStack, Row], None] | None = None,
) -> Row:
    """Run ``fault`` on a loaded stack and check the soak's invariant; return the row.

    Changes are made at ``rate`` a second from before the fault until it ends. Then every
    change must show in the store and on every open page within ``bound`` seconds, every
    notification accepted with 202 must be handled or dropped with a reason, and once the
    stack is stopped nothing of it may be left running.
    """
    row = record(Row(scenario=name))
    run = SoakStack(name=name, **(stack_options or {}))
    problems: list[str] = []
    # Seconds each phase took: where a run's time goes (start-up, fault, convergence, drain).
    phases: dict[str, float] = {}
    row.details["phase_seconds"] = phases
    clock = [time.monotonic()]

    def lap(phase: str) -> None:
        now = time.monotonic()
        phases[phase] = round(now - clock[0], 1)
        clock[0] = now

    try:
        run.start()
        lap("start")
        pages = run.open_pages(PAGES)
        driver = run.driver()
        driver.start(rate)
        time.sleep(WARM_UP_SECONDS)
        row.details["fault"] = fault(run)
        fault_ended = time.monotonic()
        lap("fault")
        driver.stop()
        assert run.pages is not None
        pages = list(run.pages.pages)  # with those the fault opened
        convergence = run.converge(pages, since=fault_ended, bound=bound)
        lap("converge")
        row.changes_made = len(driver.made)
        row.delivered = delivered_everywhere(driver.made, pages)
        row.lost = convergence.lost
        row.converge_seconds = convergence.seconds
        row.details["failed_changes"] = driver.failed
        row.details["store_wrong"] = convergence.store_wrong[:10]
        row.details["pages_wrong"] = convergence.pages_wrong[:10]
        row.details["page_resyncs"] = [p.resyncs for p in pages]
        row.details["page_reconnects"] = [p.reconnects for p in pages]
        if convergence.seconds is None:
            problems.append(
                f"not converged {bound:.0f} s after the fault: store {convergence.store_wrong[:5]}"
                f" pages {convergence.pages_wrong[:5]}"
            )
        account = run.wait_drained(timeout=DRAIN_SECONDS)
        lap("drain")
        row.details["accounting"] = {
            "sandbox_delivered_2xx": account.delivered_202,
            "accepted": account.accepted,
            "handled": account.handled,
            "dropped": account.dropped,
            "waiting": account.waiting,
            "taken": account.taken,
            "deferred": account.deferred,
        }
        if check_accounting:
            row.accepted = account.accepted
            row.unaccounted = account.unaccounted
            if account.unaccounted or account.waiting or account.taken:
                problems.append(f"notifications unaccounted for: {row.details['accounting']}")
        if extra_checks is not None:
            extra_checks(run, row)
            lap("checks")
    except Exception as error:
        problems.append(f"{type(error).__name__}: {error}")
    finally:
        left = run.stop()
        lap("stop")
        row.details["step_seconds"] = run.steps
        if left:
            problems.append(f"left running:\n{describe(left)}")
    row.details["problems"] = problems
    row.passed = not problems
    if problems:
        row.details["log_tail"] = run.log_tail()
    return row


def delivered_everywhere(made: list[tuple[str, str]], pages: list[Page]) -> int:
    """Count the changes pushed to every page still open (others may have been overtaken)."""
    open_pages = [page for page in pages if page.closed_code is None]
    return sum(
        1
        for person, text in made
        if all(
            text in page.pushed.get(person, set()) for page in open_pages if person in page.people
        )
    )


def verdict(row: Row) -> None:
    """Fail the test with what went wrong in the scenario, if anything."""
    problems = row.details.get("problems", [])
    assert not problems, "\n".join(problems) + "\n" + str(row.details.get("log_tail", ""))[-3000:]
