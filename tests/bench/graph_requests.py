"""Graph requests needed to refresh N people: the engine's batched poll vs one GET per person.

The engine's real poll path (``presence.polling.poll_people``, app token from the token store)
reads N directory people; every request that leaves the Graph client is counted by an httpx
event hook on the client's shared connection pool, so retries and 429s count too. The lower
bound is ceil(N / 650), Graph's largest getPresencesByUserId batch
(https://learn.microsoft.com/graph/api/cloudcommunications-getpresencesbyuserid).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from accounts.graph_clients import graph_for_app
from comms_portal.graph import shared_http_client
from comms_portal.graph.presence import MAX_IDS_PER_REQUEST, get_presence
from comms_portal.graph_settings import portal_graph_settings
from comms_portal.redis_client import get_redis
from directory.models import Person
from presence import ratelimit
from presence.polling import poll_people
from tests.bench.harness import BenchEnvironment
from tests.bench.report import Section

# https://learn.microsoft.com/graph/api/presence-get: 1,500 requests per 30 s per app per tenant.
DOCUMENTED_PRESENCE_LIMIT = 1_500
DOCUMENTED_WINDOW_SECONDS = 30
# Raised only for the naive run at 10,000 people, which the documented limit would stretch
# over minutes of waiting for Retry-After.
RAISED_PRESENCE_LIMIT = 1_000_000
# The naive reads go out this many at a time, as a client in a hurry would send them.
NAIVE_AT_ONCE = 8


@dataclass
class RequestCounter:
    """Count the requests the Graph client sends and the statuses it gets back."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)

    def on_request(self, request: httpx.Request) -> None:
        self.sent += 1

    def on_response(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1

    def reset(self) -> None:
        self.sent = 0
        self.statuses.clear()


def attach_counter() -> RequestCounter:
    """Hook a counter onto the Graph client's shared pool, which every GraphClient uses."""
    counter = RequestCounter()
    client = shared_http_client(portal_graph_settings())
    client.event_hooks["request"].append(counter.on_request)
    client.event_hooks["response"].append(counter.on_response)
    return counter


def minimum_seconds_at_documented_limit(requests: int) -> int:
    """Return how long ``requests`` presence requests take at least under Graph's limit."""
    windows = math.ceil(requests / DOCUMENTED_PRESENCE_LIMIT)
    return max(0, windows - 1) * DOCUMENTED_WINDOW_SECONDS


def directory_ids(count: int) -> list[str]:
    """Return the Graph ids of the first ``count`` people of the directory."""
    ids = list(Person.objects.order_by("pk").values_list("graph_id", flat=True)[:count])
    if len(ids) < count:
        raise RuntimeError(f"The directory holds {len(ids)} people; {count} are needed.")
    return ids


def _reset_budgets(bench: BenchEnvironment) -> None:
    """Start from a fresh throttling window at Graph's documented limits, here and there."""
    assert bench.sandbox is not None
    bench.sandbox.control("DELETE", "/throttling").raise_for_status()
    get_redis().delete(ratelimit.BUCKET_KEY, ratelimit.BACKOFF_KEY)


def _row(approach: str, people: int, counter: RequestCounter, seconds: float) -> dict[str, object]:
    bound = math.ceil(people / MAX_IDS_PER_REQUEST)
    return {
        "approach": approach,
        "people": people,
        "requests": counter.sent,
        "lower bound": bound,
        "ratio": round(counter.sent / bound, 2),
        "429s": counter.statuses.get(429, 0),
        "wall s": round(seconds, 2),
        "min s at limit": minimum_seconds_at_documented_limit(counter.sent),
    }


def run(bench: BenchEnvironment) -> Section:
    """Measure both approaches for each size and return the table."""
    sizes = bench.sizes
    section = Section(
        name="graph_requests",
        title="Graph requests to refresh N people (goal: ratio 1.00)",
        columns=[
            "approach",
            "people",
            "requests",
            "lower bound",
            "ratio",
            "429s",
            "wall s",
            "min s at limit",
        ],
    )
    counter = attach_counter()
    graph = graph_for_app()
    # One uncounted read first: the app token and the TLS connection are not what is measured.
    get_presence(graph, directory_ids(1)[0])

    for people in sizes.poll_sizes:
        ids = directory_ids(people)
        _reset_budgets(bench)
        counter.reset()
        started = time.perf_counter()
        result = poll_people(ids, client=graph)
        elapsed = time.perf_counter() - started
        section.rows.append(_row("engine poll (650 a request)", people, counter, elapsed))
        section.details[f"engine_{people}"] = {
            "read": result.read,
            "deferred": result.deferred,
            "throttled": result.throttled,
            "engine_reported_requests": result.requests,
        }

    naive_runs = [(n, False) for n in sizes.naive_sizes]
    naive_runs += [(n, True) for n in sizes.naive_raised_sizes]
    for people, raised in naive_runs:
        ids = directory_ids(people)
        _reset_budgets(bench)
        if raised:
            assert bench.sandbox is not None
            bench.sandbox.control(
                "POST",
                "/throttling",
                json={
                    "bucket": "presence",
                    "requests": RAISED_PRESENCE_LIMIT,
                    "window_seconds": DOCUMENTED_WINDOW_SECONDS,
                },
            ).raise_for_status()
        counter.reset()
        started = time.perf_counter()
        with ThreadPoolExecutor(NAIVE_AT_ONCE) as pool:
            list(pool.map(lambda person_id: get_presence(graph, person_id), ids))
        elapsed = time.perf_counter() - started
        label = "one GET per person" + (" (limit raised)" if raised else "")
        section.rows.append(_row(label, people, counter, elapsed))
    for people in (n for n in sizes.poll_sizes if n not in {p for p, _ in naive_runs}):
        row = {"approach": "one GET per person", "people": people, "requests": "not run"}
        section.rows.append(row)
    _reset_budgets(bench)

    section.notes += [
        "requests: counted by an httpx event hook on the Graph client's pool, retries included",
        "lower bound: ceil(N / 650), the largest getPresencesByUserId batch",
        "min s at limit: the least time those requests need under Graph's documented "
        f"{DOCUMENTED_PRESENCE_LIMIT:,} presence requests per {DOCUMENTED_WINDOW_SECONDS} s",
        f"one GET per person: {NAIVE_AT_ONCE} requests in flight at a time through the same "
        "Graph client; the engine's poll sends its batches one after another",
        "limit raised: the sandbox's presence throttling was lifted through /_sandbox/throttling "
        "for that run only; real Graph would have answered 429",
    ]
    return section
