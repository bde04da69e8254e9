"""A scripted Graph at the network edge (httpx MockTransport) serving documented examples."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from comms_portal.graph import GraphClient, GraphSettings, RetryPolicy

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "graph"
BASE_URL = "https://graph.microsoft.com/v1.0"
ACCESS_TOKEN = "token-for-adele"


def load_example(name: str) -> dict[str, Any]:
    """Return a documented example from tests/fixtures/graph by file stem."""
    with (FIXTURES / f"{name}.json").open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


def json_response(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """Build an answer with a JSON body (or none) and Graph's request-id header."""
    all_headers = {"request-id": f"req-{status}", **(headers or {})}
    if body is None:
        return httpx.Response(status, headers=all_headers)
    return httpx.Response(status, json=body, headers=all_headers)


class FakeClock:
    """Wall time that moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 4, 9, 0, 0, tzinfo=UTC)
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)

    def utcnow(self) -> datetime:
        return self.now


@dataclass
class Seen:
    """One request as the network saw it, with the fake time it arrived."""

    method: str
    url: httpx.URL
    headers: httpx.Headers
    body: bytes
    at: datetime

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeGraph:
    """Answers queued per (method, path); records every request it receives."""

    clock: FakeClock
    routes: dict[tuple[str, str], deque[httpx.Response | Responder]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def queue(self, method: str, path: str, *answers: httpx.Response | Responder) -> None:
        self.routes.setdefault((method, path), deque()).extend(answers)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(
            Seen(request.method, request.url, request.headers, request.read(), self.clock.now)
        )
        answers = self.routes.get((request.method, request.url.path))
        if not answers:
            return json_response(
                404, {"error": {"code": "notScripted", "message": str(request.url)}}
            )
        answer = answers[0] if len(answers) == 1 else answers.popleft()
        return answer(request) if callable(answer) else answer

    def client(self, *, retry: RetryPolicy | None = None, token: str = ACCESS_TOKEN) -> GraphClient:
        settings = GraphSettings(base_url=BASE_URL, retry=retry or RetryPolicy())
        return GraphClient(
            settings,
            lambda: token,
            transport=httpx.MockTransport(self.handler),
            sleep=self.clock.sleep,
            now=self.clock.utcnow,
            random=lambda: 0.5,
        )
