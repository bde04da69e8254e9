"""The latest presence of everyone watched, in Redis, shared by every process.

Updates arrive from change notifications, polls and people's own changes, in any order and
sometimes twice. :func:`apply_updates` keeps a person's state from moving backwards: an
update older than what is stored (by Graph's ``sequenceNumber`` when both sides have one,
else by when Graph's data was read) is dropped, atomically, in one Lua script.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from redis import Redis
from redis.exceptions import NoScriptError

from comms_portal.redis_client import get_redis

KEY_PREFIX = "portal:presence:v1:"
# Beside each state, its availability and "since" alone ("Available 1733580000.5"), written
# in the same step: a decision over a whole team reads these few bytes, not every state.
BRIEF_PREFIX = KEY_PREFIX + "brief:"
# A person nobody watches any more drops out of the store after a week.
KEY_TTL_SECONDS = 7 * 24 * 3600

# Fields a person sees; a change in any of them is worth pushing to browsers.
VISIBLE_FIELDS = (
    "availability",
    "activity",
    "status_message",
    "status_message_expires_at",
    "out_of_office",
    "out_of_office_message",
    "work_location",
)


@dataclass(frozen=True)
class PresenceState:
    """One person's presence as the portal knows it."""

    person_id: str  # the person's Entra object id (Graph user id)
    availability: str
    activity: str
    status_message: str = ""
    status_message_expires_at: str | None = None  # ISO 8601, when the owner set an expiry
    out_of_office: bool = False
    out_of_office_message: str = ""
    work_location: str = ""  # Graph's workLocationType: office, remote, timeOff, unknown
    sequence: str = ""  # Graph's sequenceNumber, lexicographically sortable, when given
    observed_at: float = 0.0  # epoch seconds when Graph's data was read
    changed_at: float = 0.0  # epoch seconds when the availability last changed ("since")
    source: str = ""  # "notification", "poll" or "self"
    # The store's order of this person's writes (milliseconds, at least one more than the last):
    # a browser drops a state older than the one it shows, whichever way each arrived.
    version: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> PresenceState:
        data = json.loads(raw)
        if not data.keys() <= _STATE_FIELDS:
            # Written by another version of the portal: keep what this one knows.
            data = {key: value for key, value in data.items() if key in _STATE_FIELDS}
        return cls(**data)

    def as_payload(self) -> dict[str, Any]:
        """Return the JSON-ready form sent to browsers."""
        return asdict(self)


# Read once: the wall's "available" views parse every stored state.
_STATE_FIELDS = frozenset(field.name for field in fields(PresenceState))


@dataclass(frozen=True)
class PresenceChange:
    """A stored update that people would notice, with the state it replaced."""

    current: PresenceState
    previous: PresenceState | None

    @property
    def became_available(self) -> bool:
        was = self.previous.availability if self.previous else None
        return self.current.availability == "Available" and was != "Available"


# KEYS[1] = the person's key, KEYS[2] = their brief's; ARGV[1] = incoming JSON; ARGV[2] = TTL;
# ARGV[3] = visible fields; ARGV[4] = now in milliseconds (versions keep growing even after
# the store was emptied). Returns {0, stored} when dropped or unchanged, {1, stored, previous}
# when changed. The brief is written with the state, numbers as cjson writes them (14 digits).
_APPLY = """
local function brief(state)
  local since = tonumber(state['changed_at']) or tonumber(state['observed_at']) or 0
  redis.call('SET', KEYS[2], tostring(state['availability'] or '') .. ' ' ..
    string.format('%.14g', since), 'EX', ARGV[2])
end
local incoming = cjson.decode(ARGV[1])
local raw = redis.call('GET', KEYS[1])
if not raw then
  incoming['changed_at'] = incoming['observed_at']
  incoming['version'] = tonumber(ARGV[4])
  local encoded = cjson.encode(incoming)
  redis.call('SET', KEYS[1], encoded, 'EX', ARGV[2])
  brief(incoming)
  return {1, encoded, false}
end
local stored = cjson.decode(raw)
local in_seq, old_seq = incoming['sequence'] or '', stored['sequence'] or ''
if in_seq ~= '' and old_seq ~= '' then
  if in_seq <= old_seq then return {0, raw} end
elseif (incoming['observed_at'] or 0) < (stored['observed_at'] or 0) then
  return {0, raw}
end
local changed = false
for field in string.gmatch(ARGV[3], '[^,]+') do
  if incoming[field] ~= stored[field] then changed = true end
end
incoming['version'] = math.max((tonumber(stored['version']) or 0) + 1, tonumber(ARGV[4]))
if incoming['availability'] == stored['availability'] then
  incoming['changed_at'] = stored['changed_at']
else
  incoming['changed_at'] = incoming['observed_at']
end
local encoded = cjson.encode(incoming)
redis.call('SET', KEYS[1], encoded, 'EX', ARGV[2])
brief(incoming)
if changed then return {1, encoded, raw} end
return {0, encoded}
"""


def _key(person_id: str) -> str:
    return KEY_PREFIX + person_id


def apply_updates(updates: Iterable[PresenceState]) -> list[PresenceChange]:
    """Store each update unless it is stale; return the ones that changed what people see."""
    redis = get_redis()
    batch = list(updates)
    if not batch:
        return []
    visible = ",".join(VISIBLE_FIELDS)
    now_ms = int(time.time() * 1000)
    calls = [
        (
            _key(update.person_id),
            BRIEF_PREFIX + update.person_id,
            update.to_json(),
            KEY_TTL_SECONDS,
            visible,
            now_ms,
        )
        for update in batch
    ]
    changes: list[PresenceChange] = []
    for result in _run_script(redis, _APPLY, calls, key_count=2):
        if int(result[0]) != 1:
            continue
        previous = PresenceState.from_json(result[2]) if result[2] else None
        changes.append(PresenceChange(PresenceState.from_json(result[1]), previous))
    return changes


def _run_script(
    redis: Redis[bytes], source: str, calls: list[tuple[Any, ...]], *, key_count: int = 1
) -> list[Any]:
    """Run the script ``source`` once per ``(*keys, *args)`` (``key_count`` keys first), in
    one round trip; return the answers.

    The script goes by its hash. A pipeline of scripts would first ask Redis whether it has
    them (a round trip of its own every time); instead, the calls that found it missing (a
    restarted Redis) are sent again, alone, once it is loaded.
    """
    sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
    pipeline = redis.pipeline(transaction=False)
    for call in calls:
        pipeline.evalsha(sha, key_count, *call)
    answers: list[Any] = pipeline.execute(raise_on_error=False)
    missing = [index for index, answer in enumerate(answers) if isinstance(answer, NoScriptError)]
    if missing:
        redis.script_load(source)  # type: ignore[no-untyped-call]
        again = redis.pipeline(transaction=False)
        for index in missing:
            again.evalsha(sha, key_count, *calls[index])
        for index, answer in zip(missing, again.execute(), strict=True):
            answers[index] = answer
    for answer in answers:
        if isinstance(answer, Exception):
            raise answer
    return answers


def _stored(person_ids: Iterable[str]) -> Iterator[tuple[str, bytes]]:
    """Yield (person id, stored JSON) for each known person among ``person_ids``, one MGET."""
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return
    for person_id, raw in zip(ids, get_redis().mget([_key(i) for i in ids]), strict=True):
        if raw is not None:
            yield person_id, raw


def get_many(person_ids: Iterable[str]) -> dict[str, PresenceState]:
    """Return the stored state of each known person among ``person_ids``."""
    return {person_id: PresenceState.from_json(raw) for person_id, raw in _stored(person_ids)}


def availabilities(person_ids: Iterable[str]) -> dict[str, str]:
    """Return the stored availability of each known person among ``person_ids``.

    Cheaper than ``get_many`` for thousands of people (the wall's "available" views): only
    the one field is taken from each stored state.
    """
    return {
        person_id: str(json.loads(raw).get("availability", ""))
        for person_id, raw in _stored(person_ids)
    }


# The two fields a team decision reads, found without decoding the whole state; the store
# writes them as JSON scalars (a plain word, a number), so a state they do not match is decoded.
_AVAILABILITY = re.compile(rb'"availability":\s*"([A-Za-z]*)"')
_CHANGED_AT = re.compile(rb'"changed_at":\s*(-?[0-9][0-9.eE+-]*)')


# Each person's brief, in one reply: a few hundred keys sent and answered one by one cost the
# client more than the whole decision may (each argument packed, each answer parsed).
# KEYS: none (the brief keys are named by ARGV[1] .. id). ARGV[1] = prefix; ARGV[2] = the ids,
# comma-separated. Returns the briefs in the ids' order, one a line, an empty line for none.
_BRIEFS = """
local out = {}
for id in string.gmatch(ARGV[2], '[^,]+') do
  out[#out + 1] = redis.call('GET', ARGV[1] .. id) or ''
end
return table.concat(out, '\\n')
"""


def availabilities_since(person_ids: Iterable[str]) -> dict[str, tuple[str, float]]:
    """Return the stored availability and since when (epoch seconds) of each known person.

    For decisions over a whole team, such as routing a call to whoever has been Available
    longest: one round trip and one short reply for the team, no state decoded. A person
    stored before briefs were kept is read from their whole state instead.
    """
    ids = list(dict.fromkeys(person_ids))
    # Graph ids are never empty and hold no comma; anything else is read the long way.
    lacking = [person_id for person_id in ids if not person_id or "," in person_id]
    if lacking:
        ids = [person_id for person_id in ids if person_id and "," not in person_id]
    found: dict[str, tuple[str, float]] = {}
    if ids:
        reply = get_redis().register_script(_BRIEFS)(args=[BRIEF_PREFIX, ",".join(ids)])
        lines = reply.split(b"\n")
    else:
        lines = []
    for person_id, line in zip(ids, lines, strict=True):
        availability, _, since = line.partition(b" ")
        if since:
            found[person_id] = (availability.decode(), float(since))
        else:
            lacking.append(person_id)
    if lacking:
        found.update(_whole_availabilities_since(lacking))
    return found


# A group of people decided over again and again (a team routing calls) keeps its members'
# brief keys in a Redis list of its own, named by a digest of them: each decision then sends
# no ids and Redis builds no key names (that alone cost more than the rest of the decision).
GROUP_PREFIX = KEY_PREFIX + "group:"
# A group nobody decides over for this long is dropped; it is written again when needed.
GROUP_KEEP_SECONDS = 24 * 3600
# Keys at a time in one command inside the script (Lua's unpack has a limit).
_CHUNK = 1000

# The decision made where the briefs are: whoever has held one availability longest (each one
# tied at that moment), else who is in a fallback availability (at most so many, in the group's
# order), and who has no brief; by position in the group (1-based), comma-separated.
# KEYS[1] = the group's list. ARGV[1] = the availability wanted; ARGV[2] = the fallback ones,
# comma-separated; ARGV[3] = how many at most; ARGV[4] = the group's keys, comma-separated,
# written when the list is missing (else empty: the reply is then false, "send them");
# ARGV[5] = how long the list is kept.
_LONGEST_IN = """
local keys = redis.call('LRANGE', KEYS[1], 0, -1)
if #keys == 0 then
  if ARGV[4] == '' then return false end
  for key in string.gmatch(ARGV[4], '[^,]+') do keys[#keys + 1] = key end
  for i = 1, #keys, CHUNK do
    redis.call('RPUSH', KEYS[1], unpack(keys, i, math.min(i + CHUNK - 1, #keys)))
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
local fallback = {}
for word in string.gmatch(ARGV[2], '[^,]+') do fallback[word] = true end
local limit, wanted = tonumber(ARGV[3]), ARGV[1]
local best, longest, others, lacking = nil, {}, {}, {}
for first = 1, #keys, CHUNK do
  local briefs = redis.call('MGET', unpack(keys, first, math.min(first + CHUNK - 1, #keys)))
  for offset = 1, #briefs do
    local at, brief = first + offset - 1, briefs[offset]
    local space = brief and string.find(brief, ' ', 1, true)
    local since = space and tonumber(string.sub(brief, space + 1))
    if not since then
      lacking[#lacking + 1] = at
    else
      local availability = string.sub(brief, 1, space - 1)
      if availability == wanted then
        if best == nil or since < best then
          best, longest = since, {at}
        elseif since == best then
          longest[#longest + 1] = at
        end
      elseif best == nil and fallback[availability] and #others < limit then
        others[#others + 1] = at
      end
    end
  end
end
if best ~= nil then others = {} end
return {table.concat(longest, ','), table.concat(others, ','), table.concat(lacking, ',')}
""".replace("CHUNK", str(_CHUNK))
_LONGEST_IN_SHA = hashlib.sha1(_LONGEST_IN.encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Group:
    """People decided over together, prepared once: see :func:`longest_in`."""

    size: int
    key: str  # the list of their brief keys, named by what it holds
    brief_keys: str  # comma-separated, sent only when the list must be written

    @classmethod
    def of(cls, person_ids: list[str]) -> Group:
        """Prepare a group of Graph ids (none empty, none with a comma), in decision order."""
        brief_keys = ",".join(BRIEF_PREFIX + person_id for person_id in person_ids)
        digest = hashlib.sha1(brief_keys.encode(), usedforsecurity=False).hexdigest()
        return cls(size=len(person_ids), key=GROUP_PREFIX + digest, brief_keys=brief_keys)


@dataclass(frozen=True)
class LongestIn:
    """A group's decision from the store, by position in the group (0-based)."""

    # Everyone in the availability wanted since the earliest moment (ties: more than one).
    longest: list[int]
    # Only while nobody is in it: those in a fallback availability, in order, at most as asked.
    others: list[int]
    # Positions the store holds no brief for: the decision is not whole without them.
    lacking: list[int]


def longest_in(
    group: Group, availability: str, *, fallback: Iterable[str] = (), at_most: int = 0
) -> LongestIn:
    """Return who of ``group`` has been in ``availability`` longest, from the briefs.

    Made in Redis, one round trip whatever the group's size (two the first time, or after the
    group's list lapsed): reading every brief back costs the client more than the whole
    decision may. A person whose brief holds no "since" is ``lacking``, as one never stored.
    """
    if not group.size:
        return LongestIn(longest=[], others=[], lacking=[])
    redis = get_redis()
    args = [availability, ",".join(fallback), at_most, "", GROUP_KEEP_SECONDS]
    reply = _eval_decision(redis, group.key, args)
    if reply is None:
        args[3] = group.brief_keys
        reply = _eval_decision(redis, group.key, args)
    longest, others, lacking = (
        [int(at) - 1 for at in part.split(b",")] if part else [] for part in reply
    )
    return LongestIn(longest=longest, others=others, lacking=lacking)


def _eval_decision(redis: Redis[bytes], key: str, args: list[Any]) -> Any:
    try:
        return redis.evalsha(_LONGEST_IN_SHA, 1, key, *args)  # type: ignore[no-untyped-call]
    except NoScriptError:
        redis.script_load(_LONGEST_IN)  # type: ignore[no-untyped-call]
        return redis.evalsha(_LONGEST_IN_SHA, 1, key, *args)  # type: ignore[no-untyped-call]


def _whole_availabilities_since(person_ids: list[str]) -> dict[str, tuple[str, float]]:
    found = {}
    for person_id, raw in _stored(person_ids):
        availability, changed_at = _AVAILABILITY.search(raw), _CHANGED_AT.search(raw)
        if availability is not None and changed_at is not None:
            found[person_id] = (availability[1].decode(), float(changed_at[1]))
            continue
        data = json.loads(raw)
        found[person_id] = (
            str(data.get("availability", "")),
            float(data.get("changed_at") or data.get("observed_at") or 0.0),
        )
    return found


def get_one(person_id: str) -> PresenceState | None:
    """Return one person's stored state, if any."""
    return get_many([person_id]).get(person_id)


def forget(person_ids: Iterable[str]) -> None:
    """Drop people from the store (removed from the directory)."""
    ids = list(person_ids)
    keys = [_key(i) for i in ids] + [BRIEF_PREFIX + i for i in ids]
    if keys:
        get_redis().delete(*keys)


def with_source(state: PresenceState, source: str, observed_at: float) -> PresenceState:
    """Return ``state`` stamped with where and when it was read."""
    return replace(state, source=source, observed_at=observed_at)
