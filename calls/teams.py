"""The reception line's settings and each key's team, as calls need them, kept in memory.

Routing a call must decide within milliseconds, and reading a team of hundreds from the
database costs more than the whole decision may; a new caller waits in silence while the
line's settings are read. Each process keeps what it has read; any change to the line, its
keys, their members or a person bumps a version in Redis, which each process reads at most
every ``VERSION_CHECK_SECONDS`` (the process that made the change forgets at once). A team
of a department also follows directory changes made in bulk, which send no signal: it is
read again after ``TEAM_CACHE_SECONDS`` at most.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.db import transaction

from calls.models import MenuOption
from comms_portal.redis_client import get_redis
from directory.models import Person
from presence.selectors import PresenceGroup, presence_group

VERSION_KEY = "portal:calls:teams-version"
TEAM_CACHE_SECONDS = 30.0
# Decisions within this long of the last look at the version trust it without a Redis read.
VERSION_CHECK_SECONDS = 1.0
_FIELDS = ("pk", "graph_id", "display_name")


@dataclass(frozen=True)
class Member:
    """What routing needs of one member of a team: no whole directory entry each."""

    pk: int
    graph_id: str
    display_name: str


_cache: dict[Hashable, tuple[bytes | None, float, Any]] = {}
_lock = threading.Lock()
_version: tuple[bytes | None, float] = (None, -1e9)  # (version, when read)
T = TypeVar("T")


def _current_version(now: float) -> bytes | None:
    global _version
    version, read_at = _version
    if now - read_at >= VERSION_CHECK_SECONDS:
        version = get_redis().get(VERSION_KEY)
        _version = (version, now)
    return version


def remembered(key: Hashable, load: Callable[[], T]) -> T:
    """Return what ``load`` read for ``key`` lately, or read it now (the line's settings too)."""
    now = time.monotonic()
    version = _current_version(now)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] == version and now - hit[1] < TEAM_CACHE_SECONDS:
        return cast(T, hit[2])
    value = load()
    with _lock:
        _cache[key] = (version, now, value)
    return value


def members(option: MenuOption) -> list[Member]:
    """Return the members a menu key leads to."""
    key = ("team", option.pk, option.kind, option.department, option.person_id)
    return remembered(key, lambda: _read(option))


@dataclass(frozen=True)
class RoutingTeam:
    """A key's team as the routing decision reads it, prepared once while the team is kept."""

    members: list[Member]
    # The members as one group of the presence store, decided over in one round trip; None
    # when an id could not be in one (none, a comma, twice): decided member by member then.
    group: PresenceGroup | None


def routing_team(option: MenuOption) -> RoutingTeam:
    """Return a key's team with what the store's routing decision needs of it."""
    key = ("routing", option.pk, option.kind, option.department, option.person_id)
    return remembered(key, lambda: _prepared(members(option)))


def _prepared(team: list[Member]) -> RoutingTeam:
    ids = [member.graph_id for member in team]
    listable = all(ids) and not any("," in one for one in ids) and len(set(ids)) == len(ids)
    return RoutingTeam(members=team, group=presence_group(ids) if listable else None)


def _read(option: MenuOption) -> list[Member]:
    if option.kind == MenuOption.Kind.DEPARTMENT:
        rows = Person.objects.visible().in_department(option.department)
    elif option.kind == MenuOption.Kind.PERSON:
        rows = Person.objects.filter(pk=option.person_id)
    else:
        rows = option.members.all()
    return [Member(*row) for row in rows.values_list(*_FIELDS)]


def changed(**_: Any) -> None:
    """Make every process read the teams again once the change is committed."""

    def forget() -> None:
        with _lock:
            _cache.clear()  # this process at once, the others at their next look
        get_redis().incr(VERSION_KEY)

    # Robust: a Redis hiccup must not fail the save that changed the team.
    transaction.on_commit(forget, robust=True)
