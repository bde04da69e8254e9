"""People search: server time of the picker's search and of the wall's search as one types.

Measured inside the process with Django's test ``Client`` (the full middleware stack,
sessions, the database and Redis; no network), on the whole directory, for a few kinds of
query: a whole name, a job title, a misspelled name (a close match) and an e-mail prefix.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.db import connection
from django.test import Client

from directory.models import Person
from directory.search import trigram_extension_installed
from tests.bench.harness import BenchEnvironment
from tests.bench.report import Section, summary_ms
from tests.support.cast import PRIYA
from tests.support.portal_signin import sign_in_person

WARMUP_REQUESTS = 5
GOAL_P95_MS = 100
# The named cast is in every tenant, whatever its size: these find the same people anywhere.
QUERIES = (
    ("exact name", "Priya Natarajan"),
    ("job title", "Head of Finance"),
    ("misspelled name", "Natarjan"),
    ("e-mail prefix", "priya.nat"),
)
# The people picker's JSON and the wall's results as the page asks for them while typing.
ENDPOINTS = (
    ("picker", "/directory/people/search", {"limit": "10"}),
    ("wall", "/people/cards", {}),
)


def time_query(client: Client, path: str, requests: int) -> tuple[list[float], bytes]:
    """Request ``path`` ``requests`` times after a warm-up; return the durations and last body."""
    for _ in range(WARMUP_REQUESTS):
        client.get(path)
    durations = []
    body = b""
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        durations.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        body = response.content
    return durations, body


def run(bench: BenchEnvironment) -> Section:
    """Measure the search's server time for each kind of query on the whole directory."""
    section = Section(
        name="search",
        title=f"People search, server time (goal: p95 under {GOAL_P95_MS} ms)",
        columns=["query", "text", "endpoint", "found", "requests", "p50 ms", "p95 ms", "p99 ms"],
    )
    viewer = sign_in_person(PRIYA)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(viewer)
    requests = bench.sizes.wall_requests
    for kind, text in QUERIES:
        for endpoint, path, extra in ENDPOINTS:
            durations, body = time_query(
                client, f"{path}?{urlencode({'q': text, **extra})}", requests
            )
            stats = summary_ms(durations)
            found = (
                client.get(path, {"q": text, **extra}).json()["count"]
                if endpoint == "picker"
                else body.count(b"data-person-card ")
            )
            section.rows.append(
                {
                    "query": kind,
                    "text": text,
                    "endpoint": endpoint,
                    "found": found,
                    "requests": requests,
                    "p50 ms": stats["p50_ms"],
                    "p95 ms": stats["p95_ms"],
                    "p99 ms": stats["p99_ms"],
                }
            )
            section.details[f"{endpoint}: {text}"] = stats
    trigrams = trigram_extension_installed()
    section.details["people"] = Person.objects.visible().count()
    section.details["close_matches_by"] = "pg_trgm" if trigrams else "fallback"
    section.notes += [
        f"{section.details['people']:,} visible people on {connection.vendor}; close matches "
        f"by {'pg_trgm (GIN index)' if trigrams else 'the trigram-count fallback'}",
        "picker: GET /directory/people/search (JSON, 10 results); wall: GET /people/cards "
        "(the first page of cards the wall shows as one types, presence included)",
        f"server time: Django's test Client in-process, after {WARMUP_REQUESTS} warm-up "
        "requests per query",
    ]
    return section
