"""A flood of change-notification bodies, in processes of their own.

``python -m tests.soak.flood BASE_URL RATE SECONDS BODIES.json [PROCESSES]`` posts the bodies
(a JSON list of strings) round and round to the presence intake and prints the answers as
JSON.

A general HTTP client spends more time per request than the intake does answering it, so the
sender speaks HTTP/1.1 itself on keep-alive connections: every request is built once, before
the clock starts, and sending one is a single write and a read of the short answer. Each
process sends its share of the schedule on connections of its own.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvloop

# Connections per process: enough that a slow answer (a full second) holds no slot back.
CONNECTIONS = 128
PATH = "/graph/notifications/presence"


class Gone(Exception):
    """The connection closed before its answer was read."""


def requests_for(base_url: str, bodies: list[bytes]) -> list[bytes]:
    """Return each body as the whole HTTP/1.1 request that posts it to the intake."""
    host = urlsplit(base_url).netloc
    return [
        (
            f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for body in bodies
    ]


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """Send one request on an open connection and return the answer's status code."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def flood(
    base_url: str,
    bodies: list[bytes],
    *,
    rate: float,
    duration: float,
    share: tuple[int, int] = (0, 1),
    started: float | None = None,
) -> dict[str, Any]:
    """Post ``bodies`` round and round at up to ``rate`` a second for ``duration`` seconds.

    The schedule's slots are dealt among processes (``share``: this one's index and how many
    there are). Senders take the next slot of this process; a slot whose time has passed is
    sent at once, so a portal slower than ``rate`` sees as many as it can take, never more
    than the schedule, and the flood ends on time whatever was sent. Return the answers by
    status, how many were sent, and the answer times of the 202s.
    """
    index, processes = share
    requests = requests_for(base_url, bodies)
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    answers: dict[str, int] = {}
    accepted_ms: list[float] = []
    lateness: list[float] = []
    last_202 = [0.0]  # seconds from the start to the last 202
    begin = time.monotonic() if started is None else started
    slots = iter(range(index, 10**9, processes))

    async def sender() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        for slot in slots:
            due = begin + slot / rate
            now = time.monotonic()
            if due - begin >= duration or now - begin >= duration:
                break
            if due > now:
                await asyncio.sleep(due - now)
            try:
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(host, port)
                sent = time.monotonic()
                lateness.append(sent - due)
                status = str(await _exchange(reader, writer, requests[slot % len(requests)]))
                if status == "202":
                    answered = time.monotonic()
                    accepted_ms.append((answered - sent) * 1000)
                    last_202[0] = max(last_202[0], answered - begin)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                status = "error"
                if writer is not None:
                    writer.close()
                reader = writer = None
            answers[status] = answers.get(status, 0) + 1
        if writer is not None:
            writer.close()

    await asyncio.gather(*(sender() for _ in range(CONNECTIONS)))
    return {
        "answers": answers,
        "elapsed": time.monotonic() - begin,
        "accepted_ms": accepted_ms,
        "late_seconds": max(lateness, default=0.0),
        "last_202": last_202[0],
    }


def _share(
    base_url: str,
    bodies: list[bytes],
    rate: float,
    duration: float,
    share: tuple[int, int],
    started: float,
    out: Any,
) -> None:
    out.put(
        uvloop.run(
            flood(base_url, bodies, rate=rate, duration=duration, share=share, started=started)
        )
    )


def run(
    base_url: str, bodies: list[bytes], *, rate: float, duration: float, processes: int
) -> dict[str, Any]:
    """Flood from ``processes`` processes at once; return the summed figures.

    "offered" is what the senders put on the wire a second, "accepted_per_s" the 202s a
    second until the last of them (the inbox full, the rest are 503s), "p99_202_ms" the
    99th percentile of the 202s' answer times.
    """
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    # Far enough ahead that every process has started before the first slot.
    started = time.monotonic() + 1.0
    workers = [
        context.Process(
            target=_share, args=(base_url, bodies, rate, duration, (i, processes), started, out)
        )
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=duration + 120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    answers: dict[str, int] = {}
    accepted_ms: list[float] = []
    for result in results:
        for status, count in result["answers"].items():
            answers[status] = answers.get(status, 0) + count
        accepted_ms.extend(result["accepted_ms"])
    elapsed = max(result["elapsed"] for result in results)
    # Once the inbox is full every answer is 503: the 202s' rate is over the time they came.
    accepting = max(result["last_202"] for result in results) or elapsed
    accepted_ms.sort()
    sent = sum(answers.values())
    return {
        "answers": answers,
        "sent": sent,
        "offered": round(sent / elapsed),
        "accepted_per_s": round(answers.get("202", 0) / accepting),
        "accepting_seconds": round(accepting, 1),
        "p99_202_ms": round(accepted_ms[int(len(accepted_ms) * 0.99)], 1) if accepted_ms else None,
        "p50_202_ms": round(accepted_ms[len(accepted_ms) // 2], 1) if accepted_ms else None,
        "max_late_seconds": round(max(result["late_seconds"] for result in results), 2),
        "processes": processes,
    }


def main() -> None:
    base_url, rate, duration, path = sys.argv[1:5]
    processes = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    bodies = [body.encode() for body in json.loads(Path(path).read_text())]
    result = run(base_url, bodies, rate=float(rate), duration=float(duration), processes=processes)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
