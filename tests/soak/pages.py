"""Open pages of the portal, as the wall's script keeps them: one live socket each.

A page reads the snapshot (``/people/api/presence``), opens ``/ws/live/``, watches its
people and keeps, for each person, the newest state it was told (by ``version``). Told to
resync, it reads the snapshot again; when its socket drops it opens a new one and reads the
snapshot again, as the wall does. Closed by the portal with code 4401 (signed out,
expired, disabled) it stays closed. The pages run on an event loop of their own thread, so
a scenario's code stays plain and synchronous.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

SESSION_COOKIE = "sessionid"
RECONNECT_SECONDS = 1.0
CLOSE_SIGNED_OUT = 4401


@dataclass
class Page:
    """One open page: whom it shows and what it shows of them."""

    name: str
    session: str
    people: list[str]
    shown: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every status message pushed to this page, per person (to count delivered changes).
    pushed: dict[str, set[str]] = field(default_factory=dict)
    watching: threading.Event = field(default_factory=threading.Event)
    resyncs: int = 0
    reconnects: int = 0
    closed_code: int | None = None
    closed_reason: str = ""
    pushes_after_close: int = 0
    messages: int = 0

    def show(self, presence: dict[str, Any]) -> None:
        """Show ``presence`` unless the page already shows a newer state of that person."""
        person = str(presence.get("person_id"))
        current = self.shown.get(person)
        if current is None or int(presence.get("version") or 0) >= int(current.get("version") or 0):
            self.shown[person] = presence


class Pages:
    """Pages open on a running portal, driven by an event loop in a thread of their own."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.pages: list[Page] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._tasks: list[asyncio.Future[None]] = []
        self._stopping = False

    def _run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def open(self, name: str, session: str, people: list[str], *, timeout: float = 60) -> Page:
        """Open a page for ``session`` showing ``people``; wait until it watches them."""
        page = Page(name=name, session=session, people=list(people))
        self.pages.append(page)
        self._tasks.append(asyncio.run_coroutine_threadsafe(self._keep_open(page), self._loop))
        if not page.watching.wait(timeout):
            raise RuntimeError(f"page {name} was not watching after {timeout:.0f} s")
        return page

    async def _snapshot(self, page: Page) -> None:
        cookies = {SESSION_COOKIE: page.session}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30, cookies=cookies) as http:
            answer = await http.get("/people/api/presence", params={"ids": ",".join(page.people)})
        if answer.status_code != 200:
            return
        for presence in answer.json().get("presence", {}).values():
            page.show(presence)

    async def _keep_open(self, page: Page) -> None:
        ws_url = self.base_url.replace("http://", "ws://") + "/ws/live/"
        first = True
        while not self._stopping:
            try:
                async with connect(
                    ws_url,
                    origin=self.base_url,  # type: ignore[arg-type]
                    additional_headers={"Cookie": f"{SESSION_COOKIE}={page.session}"},
                    open_timeout=30,
                    ping_interval=None,
                    max_queue=None,
                ) as socket:
                    if not first:
                        page.reconnects += 1
                    first = False
                    await self._serve(page, socket)
            except ConnectionClosed as closed:
                if closed.rcvd is not None and closed.rcvd.code == CLOSE_SIGNED_OUT:
                    page.closed_code = closed.rcvd.code
                    page.closed_reason = closed.rcvd.reason
                    return
            except (OSError, TimeoutError, WebSocketException):
                pass  # the portal is restarting, or refused the handshake: try again
            if page.closed_code is not None or self._stopping:
                return
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _serve(self, page: Page, socket: ClientConnection) -> None:
        topics = [f"presence:{person}" for person in page.people]
        await socket.send(json.dumps({"type": "watch", "topics": topics}))
        async for raw in socket:
            message = json.loads(raw)
            page.messages += 1
            kind = message.get("type")
            if kind == "watching":
                await self._snapshot(page)
                page.watching.set()
            elif kind == "resync":
                page.resyncs += 1
                await self._snapshot(page)
            elif kind == "presence":
                presence = message.get("presence") or {}
                page.show(presence)
                text = str(presence.get("status_message") or "")
                page.pushed.setdefault(str(presence.get("person_id")), set()).add(text)
        if socket.close_code == CLOSE_SIGNED_OUT:
            page.closed_code = socket.close_code
            page.closed_reason = socket.close_reason or ""

    def resnapshot_all(self) -> None:
        """Have every open page read its snapshot again (as after a visible resync)."""
        self._run(asyncio.gather(*(self._snapshot(p) for p in self.pages if p.closed_code is None)))

    def close(self) -> None:
        """Close every page."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        time.sleep(0.2)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
