"""The background loop each simulated area of the sandbox runs while the app is up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, Protocol


class Looping(Protocol):
    """An area with a ``run()`` loop and the task that runs it."""

    _task: asyncio.Task[None] | None

    def run(self) -> Coroutine[Any, Any, None]: ...


def start_loop(area: Looping, name: str) -> None:
    """Start ``area.run()`` unless it is running already."""
    if area._task is None or area._task.done():
        area._task = asyncio.create_task(area.run(), name=name)


async def stop_loop(area: Looping) -> None:
    """Cancel the area's loop and wait until it has stopped."""
    task, area._task = area._task, None
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
