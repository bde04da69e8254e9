"""Wall render: server time of the people wall's first page with the whole directory, and weight.

Measured inside the process with Django's test ``Client`` (the full middleware stack, sessions,
database and Redis; no network), for a person signed in through the real sign-in flow, with
presence recorded for everyone through the engine's ``record_presence``.
"""

from __future__ import annotations

import gzip
import re
import time
from itertools import cycle

from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from directory.models import Person
from presence.services import record_presence
from presence.store import PresenceState
from tests.bench.harness import BenchEnvironment
from tests.bench.report import Section, summary_ms
from tests.support.cast import PRIYA
from tests.support.portal_signin import sign_in_person

WARMUP_REQUESTS = 10
RECORD_CHUNK = 500
GOAL_P95_MS = 200
# A deterministic mix of what Teams reports, so cards show every kind of badge.
PRESENCE_MIX = (
    ("Available", "Available", ""),
    ("Busy", "InACall", ""),
    ("Available", "Available", "Back from leave, catching up"),
    ("Away", "Away", ""),
    ("DoNotDisturb", "Presenting", ""),
    ("Busy", "InAMeeting", "Quarterly review until 3pm"),
    ("BeRightBack", "BeRightBack", ""),
    ("Offline", "OffWork", ""),
)
ASSET = re.compile(r'<(?:link[^>]*\brel="stylesheet"[^>]*\bhref|script[^>]*\bsrc)="([^"]+)"')
# Other views of the same wall that read presence for every match, not only one page.
VARIANTS = (
    ("first page, by name", "/people/"),
    ("available now", "/people/?available=on"),
    ("available first", "/people/?order=available"),
)


def seed_presence() -> int:
    """Record a presence for everyone in the directory; return how many were recorded."""
    now = time.time()
    ids = list(Person.objects.order_by("pk").values_list("graph_id", flat=True))
    mix = cycle(PRESENCE_MIX)
    states = []
    for index, person_id in enumerate(ids):
        availability, activity, message = next(mix)
        states.append(
            PresenceState(
                person_id=person_id,
                availability=availability,
                activity=activity,
                status_message=message,
                observed_at=now,
                changed_at=now - 60 * (index % 240),
                source="poll",
            )
        )
    for start in range(0, len(states), RECORD_CHUNK):
        record_presence(states[start : start + RECORD_CHUNK])
    return len(states)


def page_weight(html: bytes) -> dict[str, int]:
    """Return the bytes of the page and of the stylesheets and scripts it loads."""
    asset_bytes = b""
    for url in ASSET.findall(html.decode()):
        if not url.startswith(settings.STATIC_URL):
            continue
        found = finders.find(url[len(settings.STATIC_URL) :].split("?")[0])
        if isinstance(found, str):
            with open(found, "rb") as asset:
                asset_bytes += asset.read()
    return {
        "html_bytes": len(html),
        "html_gzip_bytes": len(gzip.compress(html)),
        "assets_bytes": len(asset_bytes),
        "total_bytes": len(html) + len(asset_bytes),
        "total_gzip_bytes": len(gzip.compress(html)) + len(gzip.compress(asset_bytes)),
    }


def time_page(client: Client, path: str, requests: int) -> tuple[list[float], bytes]:
    """Request ``path`` ``requests`` times after a warm-up; return the durations and last body."""
    body = b""
    for _ in range(WARMUP_REQUESTS):
        client.get(path)
    durations = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        durations.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        body = response.content
    return durations, body


def run(bench: BenchEnvironment) -> Section:
    """Measure the wall's server time and page weight with everyone present."""
    section = Section(
        name="wall",
        title=f"Wall render, server time (goal: p95 under {GOAL_P95_MS} ms)",
        columns=["view", "people", "cards", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms"],
    )
    recorded = seed_presence()
    viewer = sign_in_person(PRIYA)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(viewer)
    directory = Person.objects.visible().count()
    for index, (label, path) in enumerate(VARIANTS):
        # The first page is the goal; the others are context and get fewer requests.
        requests = (
            bench.sizes.wall_requests if index == 0 else max(5, bench.sizes.wall_requests // 4)
        )
        durations, body = time_page(client, path, requests)
        stats = summary_ms(durations)
        section.rows.append(
            {
                "view": label,
                "people": directory,
                "cards": body.count(b"data-person-card"),
                "requests": requests,
                "p50 ms": stats["p50_ms"],
                "p95 ms": stats["p95_ms"],
                "p99 ms": stats["p99_ms"],
                "max ms": stats["max_ms"],
            }
        )
        section.details[path] = stats
        if index == 0:
            section.details["page_weight"] = page_weight(body)
    weight = section.details["page_weight"]
    section.details["presence_recorded"] = recorded
    section.notes += [
        f"page weight of the first page: HTML {weight['html_bytes']:,} B "
        f"({weight['html_gzip_bytes']:,} B gzipped); HTML + CSS + JS {weight['total_bytes']:,} B "
        f"({weight['total_gzip_bytes']:,} B gzipped); photos load lazily and are not counted",
        "server time: Django's test Client in-process, after "
        f"{WARMUP_REQUESTS} warm-up requests; visible people on the wall in 'people'",
    ]
    return section
