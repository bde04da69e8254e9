"""The kinds of live topic, who may watch each, and the Redis channel a topic travels on.

A topic is text ``"<kind>:<key>"``: ``presence:<graph id>`` for everyone showing a person,
``user:<portal user id>`` for one person's open pages, later ``meeting:<id>`` and the like.
Each app registers its kinds when it loads (``register`` from its ``AppConfig.ready``): the
shape a key must have and a check that names the keys a signed-in person may not watch.
Unknown kinds and malformed keys are refused before any check runs.

Keys are ids (never e-mail addresses), made of letters, digits, ``_``, ``.`` and ``-`` only,
so that every topic is also a valid Channels group name. On Redis a topic is the channel
``portal:<db>:<kind>.<key>`` (with ``LIVE_FANOUT=channels``, the layer's
``portal:<db>:__group__<kind>.<key>``): pub/sub ignores database numbers, so the number of
``REDIS_URL``'s database keeps two portals on one Redis server from hearing each other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

# What every key must look like, whatever its kind's own shape says.
SAFE_KEY = re.compile(r"[A-Za-z0-9_.-]{1,90}")
_KIND_NAME = re.compile(r"[a-z][a-z0-9_]{0,30}")

# Given a signed-in user and keys of one kind, return the keys that user may NOT watch.
RefusedKeys = Callable[[Any, list[str]], Collection[str]]


@dataclass(frozen=True)
class TopicKind:
    """One kind of topic: its name, the shape of its keys, and who may watch which."""

    name: str
    key_shape: re.Pattern[str]
    refused_keys: RefusedKeys
    # Whether ``refused_keys`` may query the database; if not, the socket calls it directly
    # on its event loop instead of handing it to a thread.
    queries_database: bool = True


class UnknownTopic(ValueError):
    """Text that is no topic of a registered kind; the message says why."""


_kinds: dict[str, TopicKind] = {}


def register(kind: TopicKind) -> None:
    """Make ``kind`` known to the live channel (once per name)."""
    if not _KIND_NAME.fullmatch(kind.name):
        raise ValueError(f"{kind.name!r} is not a kind name: lower-case letters, digits, '_'")
    known = _kinds.get(kind.name)
    if known is not None and known != kind:
        raise ValueError(f"the topic kind {kind.name!r} is registered already")
    _kinds[kind.name] = kind


def unregister(name: str) -> None:
    """Forget the kind called ``name`` (tests register kinds of their own)."""
    _kinds.pop(name, None)


def kind_named(name: str) -> TopicKind | None:
    """Return the registered kind called ``name``, if any."""
    return _kinds.get(name)


def split_topic(topic: str) -> tuple[TopicKind, str]:
    """Return the kind and key of ``topic``, or raise UnknownTopic saying what is wrong."""
    name, colon, key = topic.partition(":")
    kind = _kinds.get(name) if colon else None
    if kind is None:
        shown = topic[:100]
        if not colon:
            raise UnknownTopic(f"{shown!r} is not a topic: write '<kind>:<key>'")
        raise UnknownTopic(f"{shown!r} is of no known kind ({name[:40]!r})")
    if not SAFE_KEY.fullmatch(key) or not kind.key_shape.fullmatch(key):
        raise UnknownTopic(f"{topic[:100]!r} is not a valid {kind.name} topic")
    return kind, key


def topic_of(kind: str, key: str) -> str:
    """Return the topic of ``key`` in ``kind``."""
    return f"{kind}:{key}"


def group_name(topic: str) -> str:
    """Return the name a topic goes by in a fan-out (and as a Channels group): kind.key."""
    kind, key = split_topic(topic)
    return f"{kind.name}.{key}"


@cache
def namespace(redis_url: str) -> str:
    """Return the prefix of every live channel on the Redis of ``redis_url``."""
    path = urlsplit(redis_url).path.strip("/")
    database = path if path.isdigit() else "0"
    return f"portal:{database}:"


# --- the one kind of the platform: notices for one person ----------------------------------


def user_topic(user_id: int) -> str:
    """Return the topic of every open page of portal user ``user_id``."""
    return topic_of("user", str(user_id))


def _others(user: Any, keys: Iterable[str]) -> set[str]:
    """Refuse every user topic but the watcher's own: notices are private."""
    own = str(user.pk)
    return {key for key in keys if key != own}


USER = TopicKind(
    name="user",
    key_shape=re.compile(r"[1-9][0-9]{0,18}"),
    refused_keys=_others,
    queries_database=False,
)
register(USER)
