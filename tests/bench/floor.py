"""The floor under change-to-browser latency: one Redis PUBLISH to one websocket echo.

A plain ``websockets`` server in this process subscribes to a Redis channel and forwards each
message to its one client, also in this process; the time from PUBLISH to the client's receipt
is as fast as a push through Redis to a browser socket can be on this machine.
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as redis_async
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

CHANNEL = "bench:floor"
PAUSE_SECONDS = 0.002


async def measure_floor(redis_url: str, samples: int) -> list[float]:
    """Return ``samples`` PUBLISH-to-receipt durations, in seconds."""
    publisher = redis_async.Redis.from_url(redis_url)
    subscriber = redis_async.Redis.from_url(redis_url)
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(CHANNEL)
    sockets: list[ServerConnection] = []
    joined = asyncio.Event()

    async def hold(connection: ServerConnection) -> None:
        sockets.append(connection)
        joined.set()
        await connection.wait_closed()

    async def relay() -> None:
        async for message in pubsub.listen():
            if message["type"] == "message" and sockets:
                await sockets[0].send(message["data"].decode())

    durations: list[float] = []
    async with serve(hold, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        relaying = asyncio.create_task(relay())
        try:
            async with connect(f"ws://127.0.0.1:{port}") as client:
                await asyncio.wait_for(joined.wait(), timeout=10)
                for index in range(samples):
                    started = time.perf_counter()
                    await publisher.publish(CHANNEL, str(index))
                    await asyncio.wait_for(client.recv(), timeout=10)
                    durations.append(time.perf_counter() - started)
                    await asyncio.sleep(PAUSE_SECONDS)
        finally:
            relaying.cancel()
            await pubsub.aclose()
            await subscriber.aclose()
            await publisher.aclose()
    return durations
