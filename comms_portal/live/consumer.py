"""The live socket of every page: it relays messages of the topics the page may watch."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from comms_portal.live.backends import LiveFanout, process_live_fanout
from comms_portal.live.control import CONTROL_PREFIX, EXPIRED, SIGNED_OUT, read_control
from comms_portal.live.fanout import FanoutUnavailable
from comms_portal.live.limits import SocketSlots, WatchBudget, process_socket_slots, retry_after
from comms_portal.live.sessions import SocketSession, session_alive, session_of
from comms_portal.live.topics import group_name, user_topic
from comms_portal.live.watching import WatchRejected, allowed_watch

logger = logging.getLogger(__name__)

# Close codes (4000-4999 are free for applications; 1008 is the protocol's own "policy
# violation"). The page reads them: signed out stops it, the others retry later.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_MANY_SOCKETS = 4429
CLOSE_FLOODING = 1008
# Messages a socket may have waiting for a slow browser; past that they are dropped and the
# page is told to re-read its snapshot instead, so a stalled tab cannot hoard memory.
MAX_WAITING_MESSAGES = 1000
# What a page is told when messages may have been lost: re-read a snapshot.
RESYNC_TEXT = json.dumps({"type": "resync"})
# The page's heartbeat: a socket that stops answering pings is dead to it within seconds,
# even when the network vanished without closing anything. Pings are not watch messages: they
# have a budget of their own, so neither kind of message can use up the other's.
PING = {"type": "ping"}
PONG_TEXT = json.dumps({"type": "pong"})


class LiveConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Relay the messages of the watched topics and the signed-in person's notices.

    The process's fan-out calls ``deliver`` and ``resync``; they only queue the text, and
    one task per socket writes the queue out in order, so a slow browser holds up no one.
    The socket lives no longer than the session it was opened with: it closes when the
    session expires, when that session signs out (a control message on the person's topic),
    and at a watch message once the session is gone.
    """

    async def connect(self) -> None:
        self.topics: frozenset[str] = frozenset()
        self.own_topic: str | None = None
        self._waiting: deque[str] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._fanout: LiveFanout | None = None
        self._session: SocketSession | None = None
        self._slots: SocketSlots | None = None
        self._socket_id: str | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._closing = False
        self._budget = WatchBudget(settings.LIVE_WATCH_MESSAGES_PER_MINUTE)
        self._ping_budget = WatchBudget(settings.LIVE_PINGS_PER_MINUTE)
        self.user = self.scope.get("user")
        await self.accept()
        if self.user is None or not self.user.is_authenticated:
            # Accepted first so the browser sees the code and stops retrying.
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self._session = session_of(self.scope)
        now = timezone.now()
        if self._session is None or self._session.expires_at <= now:
            await self._shut(CLOSE_UNAUTHENTICATED, EXPIRED)
            return
        slots = process_socket_slots(settings.REDIS_URL)
        socket_id = slots.new_socket_id()
        limit = settings.LIVE_MAX_SOCKETS_PER_PERSON
        if not await slots.take(self.user.pk, socket_id, limit=limit):
            await self._shut(CLOSE_TOO_MANY_SOCKETS, f"at most {limit} live pages per person")
            return
        self._slots, self._socket_id = slots, socket_id
        self._expiry = asyncio.get_running_loop().call_later(
            (self._session.expires_at - now).total_seconds(), self._order_close, EXPIRED
        )
        self.own_topic = user_topic(self.user.pk)
        self._fanout = process_live_fanout()
        await self._follow()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "_closing"):  # connect ran
            await self._release()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.own_topic is None or self._closing:
            return
        if _is_ping(text_data):
            if await self._within(self._ping_budget, "ping"):
                await self.send(text_data=PONG_TEXT)
            return
        if not await self._within(self._budget, "watch"):
            return
        ended = await self._session_ended()
        if ended is not None:
            await self._shut(CLOSE_UNAUTHENTICATED, ended)
            return
        if text_data is None:
            await self.send_json({"type": "error", "error": "send text frames of JSON"})
            return
        try:
            await super().receive(text_data=text_data)
        except ValueError:
            await self.send_json({"type": "error", "error": "a message must be valid JSON"})

    async def _within(self, budget: WatchBudget, kind: str) -> bool:
        """Spend one ``kind`` message of ``budget``; refuse it (or close a flood) when spent."""
        wait = budget.wait_needed()
        if not wait:
            return True
        if budget.flooding():
            await self._shut(CLOSE_FLOODING, "too many messages")
            return False
        await self.send_json(
            {
                "type": "error",
                "refused": kind,
                "error": f"too many {kind} messages: at most {budget.per_minute} a minute; "
                "this one is ignored",
                "retry_after": retry_after(wait),
            }
        )
        return False

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        try:
            self.topics = await allowed_watch(self.user, content)
        except WatchRejected as rejected:
            await self.send_json(rejected.reply())
            return
        if await self._follow():
            await self.send_json({"type": "watching", "count": len(self.topics)})

    async def _follow(self) -> bool:
        """Follow this page's topics; tell the page when live updates are down for now."""
        assert self._fanout is not None and self.own_topic is not None
        names = {group_name(topic) for topic in (self.own_topic, *self.topics)}
        try:
            await self._fanout.follow(self, names)
        except FanoutUnavailable as error:
            # Still registered: the fan-out subscribes and asks for a resync once Redis is back.
            await self.send_json({"type": "unavailable", "error": str(error)})
            return False
        return True

    # -- the session's end -----------------------------------------------------------------

    async def _session_ended(self) -> str | None:
        """Return why the socket's session is over (expired, signed out), or None if it is not."""
        assert self._session is not None and self.user is not None
        if self._session.expires_at <= timezone.now():
            return EXPIRED
        if not await session_alive(self._session.key, self.user.pk):
            return SIGNED_OUT
        return None

    def _order_close(self, reason: str) -> None:
        """Close the socket as signed out, for ``reason``, once the running call returns."""
        if self._closing:
            return
        self._closing = True
        self._waiting.clear()
        asyncio.get_running_loop().create_task(self._shut(CLOSE_UNAUTHENTICATED, reason))

    async def _shut(self, code: int, reason: str) -> None:
        self._closing = True
        await self._release()
        await self.close(code=code, reason=reason)

    async def _release(self) -> None:
        """Let go of everything the socket holds; safe to call more than once."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        fanout, self._fanout = self._fanout, None
        if fanout is not None:
            await fanout.forget(self)
        slots, socket_id = self._slots, self._socket_id
        self._slots = self._socket_id = None
        if slots is not None and socket_id is not None:
            await slots.give_back(socket_id)
        writer = self._writer
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()

    # -- called by the fan-out -----------------------------------------------------------

    def deliver(self, text: str) -> None:
        """Queue ``text`` for the browser, or obey it if it is a control message."""
        if text.startswith(CONTROL_PREFIX):
            order = read_control(text)
            session = self._session
            if order is not None and session is not None and order.concerns(session.fingerprint):
                self._order_close(order.reason)
            return
        if self._closing:
            return
        if len(self._waiting) >= MAX_WAITING_MESSAGES:
            self._waiting.clear()
            text = RESYNC_TEXT
        self._waiting.append(text)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_waiting())

    def resync(self) -> None:
        """Ask the page to re-read its snapshot: messages may have been missed."""
        self.deliver(RESYNC_TEXT)

    async def _write_waiting(self) -> None:
        while self._waiting:
            text = self._waiting.popleft()
            try:
                await self.send(text_data=text)
            except Exception as error:  # the browser has gone; its disconnect cleans up
                logger.debug("live socket: send failed: %s", error)
                self._waiting.clear()
                return


def _is_ping(text_data: str | None) -> bool:
    """Tell whether a frame is the page's heartbeat ping."""
    if text_data is None or len(text_data) > 64:
        return False
    try:
        return bool(json.loads(text_data) == PING)
    except ValueError:
        return False
