"""Call records: ingest from the sandbox into the database, and the dashboard's server time.

The sandbox makes N records at once (each with sessions, segments, media and streams as it
makes them for the demo tenant). The portal then collects them as its heal does: the list by
start time, 1,000 a page, each record read whole (two requests: sessions with segments, and
participants) through JSON batches of ten records, a few at once, stored in batches while
the next are read; on PostgreSQL by two processes at once, each handed a thousand records at
a time, as Celery workers would. Reported: records/s end to end, the CPU time of the portal's
processes, the sandbox and the database per record, and the collecting processes' resident
memory at each tenth of the run, which stays flat if nothing accumulates.
Then each chart of the dashboard and a person's My calls are timed over what was stored.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import timedelta
from pathlib import Path
from typing import Any

import django
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from accounts.graph_clients import graph_for_app
from callrecords import selectors, services
from callrecords.models import CallParticipant, CallRecord, CallStream, StreamRollup
from comms_portal.graph import GraphClient
from comms_portal.graph.callrecords import RECORDS_PER_BATCH, list_call_records
from tests.bench.harness import BenchEnvironment
from tests.bench.report import Section, summary_ms

GENERATE_PART = 10_000
# Processes collecting at once on PostgreSQL (a Celery worker's default concurrency here, or
# BENCH_CALLRECORDS_PROCESSES), and the records each is handed at a time.
INGEST_PROCESSES = int(os.environ.get("BENCH_CALLRECORDS_PROCESSES", "2"))
INGEST_PART = 1_000
GOAL_RECORDS_PER_SECOND = 1_000
GOAL_CHART_P95_MS = 300
GOAL_MY_CALLS_P95_MS = 100


def resident_mib() -> float:
    """Return this process's resident memory now, in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int | str = "self") -> float:
    """Return the CPU time (user and system) a process has used so far, in seconds (Linux)."""
    # After the command name, in parentheses: the state is field 3, utime 14 and stime 15.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_times() -> tuple[float, float]:
    """Return the machine's CPU time so far: (idle and waiting on I/O, all), in ticks (Linux)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])


def ingest(bench: BenchEnvironment, count: int) -> dict[str, Any]:
    """Make ``count`` records in the sandbox, then collect and store them all."""
    assert bench.sandbox is not None
    since = timezone.now() - timedelta(days=8)
    # In parts, each with its own seed (so its own records): one request for a hundred
    # thousand can outlast the control client's timeout on a loaded machine.
    for part, begin in enumerate(range(0, count, GENERATE_PART), start=1):
        size = min(GENERATE_PART, count - begin)
        made = bench.sandbox.control(
            "POST", "/callrecords/generate", {"count": size, "days": 7, "seed": part}
        )
        made.raise_for_status()
    # Graph allows 1,500 call-record requests per 20 s per app per tenant: two requests a
    # record, that is 37.5 records/s at most against real Graph. Raised here to measure the
    # portal, which real Graph would not allow.
    bench.sandbox.control(
        "POST",
        "/throttling",
        {"bucket": "callrecords", "requests": 10_000_000, "window_seconds": 1},
    ).raise_for_status()
    client = graph_for_app()
    listed = [item.id for item in list_call_records(client, since=since, page_size=1000)]
    # On PostgreSQL the records are collected by several processes, as Celery workers would
    # (each read-and-store is idempotent by id and version); SQLite takes one writer at a time.
    processes = INGEST_PROCESSES if connection.vendor == "postgresql" else 1
    # Parts of consecutive records (by start time), so the processes seldom add to the same
    # hourly counts at once.
    parts = [listed[begin : begin + INGEST_PART] for begin in range(0, len(listed), INGEST_PART)]
    memory = [round(resident_mib(), 1)]
    checkpoints = [max(1, len(listed) * step // 10) for step in range(1, 11)]
    stored = read = 0
    cpu_ms = dict.fromkeys(("portal", "sandbox", "database"), 0.0)
    sandbox_before = cpu_seconds(bench.sandbox.process.pid)
    idle_before, all_before = cpu_times()
    load = [round(os.getloadavg()[0], 1)]
    started = time.perf_counter()
    if processes == 1:
        done: Iterable[dict[str, Any]] = map(ingest_part, parts)
        pool = None
    else:
        pool = ProcessPoolExecutor(
            processes, mp_context=multiprocessing.get_context("spawn"), initializer=django.setup
        )
        done = (future.result() for future in as_completed(pool.submit(ingest_part, part)
                                                            for part in parts))  # fmt: skip
    try:
        for part in done:
            stored += part["stored"]
            read += part["read"]
            cpu_ms["portal"] += part["cpu_seconds"]
            cpu_ms["database"] += part["database_cpu_seconds"]
            while checkpoints and read >= checkpoints[0]:
                checkpoints.pop(0)
                memory.append(part["resident_mib"])
                load.append(round(os.getloadavg()[0], 1))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    total = time.perf_counter() - started
    cpu_ms["sandbox"] = cpu_seconds(bench.sandbox.process.pid) - sandbox_before
    idle_after, all_after = cpu_times()
    per_record = {
        name: round(seconds * 1000 / max(1, len(listed)), 2) for name, seconds in cpu_ms.items()
    }
    return {
        "cpu_ms_per_record": per_record,
        "processes": processes,
        "listed": len(listed),
        "stored": stored,
        "seconds": round(total, 1),
        "records_per_second": round(len(listed) / total, 1) if total else None,
        "memory_mib": memory,
        # The cores' share left idle during the ingest (all of the machine's work counted),
        # and the one-minute load average at its start and each tenth.
        "idle_share": round((idle_after - idle_before) / max(1, all_after - all_before), 3),
        "load_average": load,
    }


@functools.cache
def _client() -> GraphClient:
    """One Graph client a process, as a worker keeps (its token fetched once)."""
    return graph_for_app()


def ingest_part(graph_ids: list[str]) -> dict[str, Any]:
    """Collect these records in this process; return what it did and the CPU time it took."""
    database_pid: int | None = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            row = cursor.fetchone()
        database_pid = int(row[0]) if row is not None else None
    database_before = cpu_seconds(database_pid) if database_pid else 0.0
    before = time.process_time()  # this process's CPU time, its reading threads included
    report = services.collect_records(graph_ids=graph_ids, client=_client())
    return {
        "read": report.listed,
        "stored": report.stored.created + report.stored.replaced,
        "cpu_seconds": time.process_time() - before,
        "database_cpu_seconds": (cpu_seconds(database_pid) - database_before)
        if database_pid
        else 0.0,
        "resident_mib": round(resident_mib(), 1),
    }


def timed(call: Callable[[], object], requests: int) -> dict[str, Any]:
    call()  # warm-up
    durations = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        durations.append(time.perf_counter() - started)
    return summary_ms(durations)


def run(bench: BenchEnvironment) -> Section:
    """Ingest the records, then time the dashboard's charts and a person's calls."""
    # BENCH_CALLRECORDS sets another count (between the quick and the full run's).
    count = int(os.environ.get("BENCH_CALLRECORDS", bench.sizes.callrecords))
    section = Section(
        name="callrecords",
        title=(
            f"Call records: ingest of {count:,} from the sandbox (goal {GOAL_RECORDS_PER_SECOND:,}"
            f"/s) and dashboard server time (goal p95 {GOAL_CHART_P95_MS} ms a chart, "
            f"My calls {GOAL_MY_CALLS_P95_MS} ms)"
        ),
        columns=["what", "figure", "p50 ms", "p95 ms", "p99 ms"],
    )
    result = ingest(bench, count)
    section.details["ingest"] = result
    section.rows.append(
        {"what": "ingest end to end, records/s", "figure": result["records_per_second"]}
    )
    for name, figure in result["cpu_ms_per_record"].items():
        section.rows.append({"what": f"CPU of the {name} per record, ms", "figure": figure})
    memory = result["memory_mib"]
    section.rows.append(
        {"what": "resident memory at each tenth, MiB", "figure": " ".join(map(str, memory))}
    )
    section.rows.append({"what": "cores idle during the ingest", "figure": result["idle_share"]})
    section.rows.append(
        {"what": "load average at each tenth", "figure": " ".join(map(str, result["load_average"]))}
    )
    section.details["stored"] = {
        "calls": CallRecord.objects.count(),
        "streams": CallStream.objects.count(),
        "participants": CallParticipant.objects.count(),
    }
    # The database as it is once it has caught up with the load, not as it was mid-ingest:
    # the planner's statistics (autovacuum analyzes a table after a tenth of it changes), and
    # the counts' table vacuumed (every upsert left a dead row version behind, which autovacuum
    # clears after a fifth of the table changed; until then the charts read past them).
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f'VACUUM (ANALYZE) "{StreamRollup._meta.db_table}"')
        cursor.execute("ANALYZE")
    now = timezone.now()
    filters = selectors.Filters(since=now - timedelta(days=30), until=now + timedelta(days=1))
    requests = bench.sizes.callrecords_requests
    charts: dict[str, Callable[[], object]] = {
        "chart: poor rate by day": lambda: selectors.poor_rate_over_time(filters),
        # As the dashboard asks: the rows it shows, and how many there are in all.
        **{
            f"chart: by {name}": functools.partial(
                selectors.top_rates_by, filters, name, selectors.DASHBOARD_ROWS
            )
            for name in selectors.DIMENSIONS
        },
        "table: worst 20 calls": lambda: selectors.worst_calls(filters),
    }
    for name, call in charts.items():
        summary = timed(call, requests)
        section.rows.append({"what": name, "figure": "", **_ms(summary)})
    # The person with the most calls: My calls costs the most for them.
    busiest = (
        CallParticipant.objects.exclude(person_id="")
        .values("person_id")
        .annotate(calls=Count("id"))
        .order_by("-calls", "person_id")
        .first()
    ) or {"person_id": "", "calls": 0}
    since = now - timedelta(days=30)
    summary = timed(lambda: selectors.my_calls(busiest["person_id"], since=since), requests)
    shown = len(selectors.my_calls(busiest["person_id"], since=since).calls)
    section.rows.append(
        {"what": "My calls of the busiest person", "figure": f"{shown} calls", **_ms(summary)}
    )
    section.notes.append(
        "The sandbox's call-records throttling is raised for the run: Graph's 1,500 requests "
        "per 20 s per app per tenant allow 37.5 whole records a second (two requests each)."
    )
    section.notes.append(
        f"Read through JSON batches of {RECORDS_PER_BATCH} records, "
        f"{services.read_threads()} at once, stored in batches of {services.store_batch()}, by "
        f"{result['processes']} process(es) at once, on {bench.database_kind}. Chart times "
        "are the selectors' (queries and shaping), without template rendering."
    )
    return section


def _ms(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "p50 ms": summary["p50_ms"],
        "p95 ms": summary["p95_ms"],
        "p99 ms": summary["p99_ms"],
    }
