"""Where apps declare the resource kinds they subscribe to, and what handles their changes.

A kind says how its subscriptions are kept (``maintain``: create, renew and drop them so that
what the app needs is covered), whose token they use, how long Graph lets them live, and which
function receives its verified, decrypted changes, a batch at a time. The pipeline knows
nothing else of the app.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from comms_portal.notifications.models import Subscription

ActsAs = Literal["delegated", "app"]
# Kind names appear in notification URLs and Redis keys.
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class Change:
    """One verified change of a subscription the portal holds.

    ``resource_data`` is the decrypted resource of a rich notification; a basic notification
    carries only ``resource_id`` (the app reads the resource itself when it needs it).
    """

    subscription: Subscription
    change_type: str
    resource: str
    resource_data: dict[str, Any] | None
    resource_id: str | None
    tenant_id: str | None


@dataclass
class Handled:
    """What a kind's handler made of a batch of changes."""

    changed: int = 0
    dropped: int = 0
    reasons: list[str] = field(default_factory=list)

    def drop(self, reason: str, count: int = 1) -> None:
        """Count ``count`` changes as dropped, and say why."""
        self.dropped += count
        self.reasons.append(reason)


@dataclass(frozen=True)
class ResourceKind:
    """A kind of Graph resource an app subscribes to."""

    name: str
    # Receives the verified changes of this kind's subscriptions, in batches.
    handle_changes: Callable[[Sequence[Change]], Handled]
    # Creates, renews and drops this kind's subscriptions to cover what the app needs.
    maintain: Callable[[], object]
    # Re-reads what a subscription covered, after changes may have been lost; returns how
    # many resources it read.
    resync: Callable[[Subscription], int]
    # Graph's longest lifetime for this resource's subscriptions.
    max_lifetime: timedelta
    # Renew once less than this remains.
    renew_before: timedelta
    # Whose token keeps the subscriptions: a signed-in owner's (delegated) or the app's.
    acts_as: ActsAs = "delegated"
    # Rich notifications (resource data encrypted to our certificate) or basic ones.
    include_resource_data: bool = True
    # The Graph version its subscriptions are made on (meeting call events are beta only).
    api_version: Literal["v1.0", "beta"] = "v1.0"


_kinds: dict[str, ResourceKind] = {}


class UnknownKind(LookupError):
    """No app registered a resource kind of that name."""


def register(kind: ResourceKind) -> ResourceKind:
    """Declare a resource kind; registering the same name again replaces it."""
    if not _NAME.match(kind.name) or kind.name == "lifecycle":
        raise ValueError(f"resource kind name {kind.name!r} must match {_NAME.pattern}")
    _kinds[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Forget a resource kind (tests that register kinds of their own)."""
    _kinds.pop(name, None)


def get(name: str) -> ResourceKind:
    """Return the registered kind ``name``."""
    try:
        return _kinds[name]
    except KeyError:
        raise UnknownKind(name) from None


def is_registered(name: str) -> bool:
    """Tell whether an app registered the kind ``name``."""
    return name in _kinds


def all_kinds() -> list[ResourceKind]:
    """Return every registered kind, in registration order."""
    return list(_kinds.values())


# --- callback kinds: bodies that prove themselves with a bearer token, not a subscription ----


@dataclass(frozen=True)
class CallbackKind:
    """A kind of callback Graph posts with ``Authorization: Bearer <JWT>`` (a calling bot's).

    The intake runs ``authenticate`` on the header and the body before queueing it; bodies that
    pass go to the same inbox as change notifications, and the drain hands them, in the order
    they arrived, to ``handle_bodies``.
    """

    name: str
    # Return why the request is refused (logged and counted), or None when it may be queued.
    authenticate: Callable[[str | None, bytes], Awaitable[str | None]]
    # Check the body's shape; return why it is malformed, or None.
    malformed: Callable[[bytes], str | None]
    # Receive the queued bodies, oldest first.
    handle_bodies: Callable[[Sequence[str]], Handled]
    # Forget an authenticated body that could not be queued (the inbox was full), so that
    # the sender's next try is not taken for a replay.
    not_queued: Callable[[str | None, bytes], Awaitable[None]] | None = None
    # Name this exact callback (its token and body): the intake queues it only if the name is
    # new, in the same Redis step as the queueing, and keeps the name ``replay_seconds``.
    replay_key: Callable[[str | None, bytes], str | None] | None = None
    replay_seconds: int = 0
    # Make ready, as a web process starts, what checking the first callback needs (the
    # sender's keys, say), so that it does not wait for it; must not raise.
    warm_up: Callable[[], Awaitable[object]] | None = None


_callback_kinds: dict[str, CallbackKind] = {}


def register_callbacks(kind: CallbackKind) -> CallbackKind:
    """Declare a callback kind; it posts to the intake URL of its name."""
    if not _NAME.match(kind.name) or kind.name == "lifecycle" or kind.name in _kinds:
        raise ValueError(f"callback kind name {kind.name!r} is not free")
    _callback_kinds[kind.name] = kind
    return kind


def callback_kind(name: str) -> CallbackKind | None:
    """Return the callback kind ``name``, if one is registered."""
    return _callback_kinds.get(name)


def all_callback_kinds() -> list[CallbackKind]:
    """Return every registered callback kind, in registration order."""
    return list(_callback_kinds.values())
