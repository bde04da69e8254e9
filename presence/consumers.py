"""The live presence socket: it only relays pushes to the people a page shows."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from comms_portal import realtime

# A page never shows more people than this at once.
MAX_WATCHED = 1000
# Graph ids are GUIDs; group names allow only these characters, so nothing else is accepted.
_ID_SHAPE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Close code for "not signed in" (4000-4999 are free for applications).
CLOSE_UNAUTHENTICATED = 4401


class WatchRejected(ValueError):
    """A watch message the socket cannot honour; the text goes back to the page."""


def parse_watch(content: object) -> set[str]:
    """Return the ids of a ``{"type": "watch", "ids": [...]}`` message, or raise WatchRejected."""
    if not isinstance(content, dict):
        raise WatchRejected("a message must be a JSON object")
    if content.get("type") != "watch":
        raise WatchRejected(f"unknown message type {content.get('type')!r}; send 'watch'")
    ids = content.get("ids")
    if not isinstance(ids, list):
        raise WatchRejected("'ids' must be a list of person ids")
    if len(ids) > MAX_WATCHED:
        raise WatchRejected(f"at most {MAX_WATCHED} people can be watched at once")
    for person_id in ids:
        if not isinstance(person_id, str) or not _ID_SHAPE.match(person_id):
            raise WatchRejected(f"{str(person_id)[:80]!r} is not a person id")
    return set(ids)


class PresenceConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Relay presence changes of watched people and notices for the signed-in person."""

    async def connect(self) -> None:
        self.watched: set[str] = set()
        self.own_group: str | None = None
        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_authenticated:
            # Accepted first so the browser sees the code and stops retrying.
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.own_group = realtime.user_group(user.pk)
        await self.channel_layer.group_add(self.own_group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        for person_id in getattr(self, "watched", set()):
            await self.channel_layer.group_discard(
                realtime.presence_group(person_id), self.channel_name
            )
        if getattr(self, "own_group", None):
            await self.channel_layer.group_discard(self.own_group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.own_group is None:
            return
        if text_data is None:
            await self.send_json({"type": "error", "error": "send text frames of JSON"})
            return
        try:
            await super().receive(text_data=text_data)
        except ValueError:
            await self.send_json({"type": "error", "error": "a message must be valid JSON"})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        try:
            wanted = parse_watch(content)
        except WatchRejected as rejected:
            await self.send_json({"type": "error", "error": str(rejected)})
            return
        layer = self.channel_layer
        # Every watched group is joined again, not only the new ones: group membership lives
        # in Redis, expires, and is gone after a Redis restart, and pages repeat their watch
        # message now and then precisely to heal that. Joining is idempotent and concurrent,
        # so a page watching 200 people waits about one round trip.
        await asyncio.gather(
            *(
                layer.group_discard(realtime.presence_group(person_id), self.channel_name)
                for person_id in self.watched - wanted
            ),
            *(
                layer.group_add(realtime.presence_group(person_id), self.channel_name)
                for person_id in wanted
            ),
            *([layer.group_add(self.own_group, self.channel_name)] if self.own_group else []),
        )
        self.watched = wanted
        await self.send_json({"type": "watching", "count": len(wanted)})

    async def presence_changed(self, event: dict[str, Any]) -> None:
        text = event.get("text")
        if isinstance(text, str):
            # Encoded once by the sender for every browser showing this person.
            await self.send(text_data=text)
        else:
            await self.send_json({"type": "presence", "presence": event.get("presence", {})})

    async def user_notice(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "notice", "notice": event.get("notice", {})})
