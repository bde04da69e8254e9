"""An open-loop HTTP/1.1 load generator: requests leave at fixed times, whatever the answers.

Latency is measured from each request's scheduled time, so a slow server shows up as latency
(and a late scheduler is not hidden) instead of quietly lowering the offered rate. Connections
are kept alive and reused; a new one opens only when every open one is busy.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

REQUEST_TIMEOUT_SECONDS = 10.0
MAX_CONNECTIONS = 512
# Servers close idle keep-alive connections (uvicorn after 5 s); older ones are not reused,
# or a request would race the server's close and fail for the client's own reasons.
IDLE_REUSE_SECONDS = 4.0


@dataclass
class LoadResult:
    """What an open-loop run saw."""

    scheduled: int = 0
    latencies: list[float] = field(default_factory=list)  # of answers with the wanted status
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    first_sent: float = 0.0
    last_answered: float = 0.0
    connections: int = 0


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    last_used: float = 0.0


async def _exchange(connection: _Connection, request: bytes) -> int:
    """Send one request and read its whole answer; return the status code."""
    connection.writer.write(request)
    status_line = await connection.reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    while True:
        line = await connection.reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await connection.reader.readexactly(length)
    return status


def post_request(
    host: str, port: int, path: str, body: bytes, headers: dict[str, str] | None = None
) -> bytes:
    """Return the raw bytes of a JSON POST with keep-alive (and ``headers``, if any)."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"{extra}Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def open_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    rate: float,
    seconds: float,
    wanted_status: int,
    warmup_seconds: float = 0.0,
) -> LoadResult:
    """Send ``rate`` requests a second for ``seconds``, cycling through ``requests``.

    The first ``warmup_seconds`` of the same traffic go before, unrecorded: the connections a
    steady sender (Graph) keeps open get opened, and the server's first requests warm up.
    """
    result = LoadResult(scheduled=int(rate * seconds))
    warm = int(rate * warmup_seconds)
    idle: list[_Connection] = []

    def reusable() -> _Connection | None:
        while idle:
            connection = idle.pop()
            if connection.reader.at_eof() or (
                time.perf_counter() - connection.last_used > IDLE_REUSE_SECONDS
            ):
                connection.writer.close()
                result.connections -= 1
                continue
            return connection
        return None

    async def one(index: int, due: float) -> None:
        connection = reusable()
        try:
            if connection is None:
                if result.connections >= MAX_CONNECTIONS:
                    result.errors["no free connection"] += 1
                    return
                result.connections += 1
                reader, writer = await asyncio.open_connection(host, port)
                connection = _Connection(reader, writer)
            status = await asyncio.wait_for(
                _exchange(connection, requests[index % len(requests)]),
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as error:
            if index >= warm:
                result.errors[type(error).__name__] += 1
            if connection is not None:
                connection.writer.close()
                result.connections -= 1
            return
        answered = time.perf_counter()
        connection.last_used = answered
        if index >= warm:
            result.last_answered = max(result.last_answered, answered)
            result.statuses[status] += 1
            if status == wanted_status:
                result.latencies.append(answered - due)
        idle.append(connection)

    # The generator's own garbage collection would pause it mid-run and show up as server
    # latency; the run allocates little that needs collecting.
    gc.collect()
    gc.disable()
    try:
        await _send_all(result, warm, requests, rate, one, idle)
    finally:
        gc.enable()
    return result


async def _send_all(
    result: LoadResult,
    warm: int,
    requests: Sequence[bytes],
    rate: float,
    one: Callable[[int, float], Awaitable[None]],
    idle: list[_Connection],
) -> None:
    started = time.perf_counter()
    result.first_sent = started + warm / rate
    tasks = []
    for index in range(warm + result.scheduled):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    for connection in idle:
        connection.writer.close()
