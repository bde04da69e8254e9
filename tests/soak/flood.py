"""A flood of change-notification bodies, in a process of its own.

``python -m tests.soak.flood BASE_URL RATE SECONDS BODIES.json`` posts the bodies (a JSON list
of strings) round and round to the presence intake and prints the answers as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import uvloop

SENDERS = 64


async def flood(
    base_url: str, bodies: list[bytes], *, rate: float, duration: float
) -> dict[str, Any]:
    """Post ``bodies`` round and round at up to ``rate`` a second for ``duration`` seconds.

    Senders take the next slot of the schedule; a slot whose time has passed is sent at
    once, so a portal slower than ``rate`` sees as many as it can take, never more than
    the schedule, and the flood ends on time whatever was sent. Return the answers by
    status and the rate reached.
    """
    answers: dict[str, int] = {}
    url = f"{base_url}/graph/notifications/presence"
    limits = httpx.Limits(max_connections=SENDERS, max_keepalive_connections=SENDERS)
    started = time.monotonic()
    slots = iter(range(10**9))

    async def sender(http: httpx.AsyncClient) -> None:
        for slot in slots:
            due = started + slot / rate
            if due - started >= duration or time.monotonic() - started >= duration:
                return
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            try:
                status = str((await http.post(url, content=bodies[slot % len(bodies)])).status_code)
            except httpx.HTTPError:
                status = "error"
            answers[status] = answers.get(status, 0) + 1

    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        await asyncio.gather(*(sender(http) for _ in range(SENDERS)))
    elapsed = time.monotonic() - started
    return {"answers": answers, "rate_reached": round(sum(answers.values()) / elapsed)}


def main() -> None:
    base_url, rate, duration, path = sys.argv[1:5]
    bodies = [body.encode() for body in json.loads(Path(path).read_text())]
    result = uvloop.run(flood(base_url, bodies, rate=float(rate), duration=float(duration)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
