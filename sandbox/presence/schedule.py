"""A person's simulated working day, derived only from the seed, the person and the date.

The plan says what the person's Teams client reports at each minute of a (UTC) day: signed
out before and after work, a mix of free time, meetings, calls, presenting and focus time in
between, lunch away from the desk; some days a status message, some days out of office.
"""

from __future__ import annotations

import bisect
import hashlib
import random
from dataclasses import dataclass

MINUTES_PER_DAY = 24 * 60
OUT_OF_OFFICE_CHANCE = 0.05
STATUS_MESSAGE_CHANCE = 0.2
EARLY_STARTER_CHANCE = 0.25
REMOTE_DAY_CHANCE = 0.3

STATUS_MESSAGES = (
    "Heads down on the quarterly plan, ping me if it is urgent",
    "Back-to-back meetings this afternoon",
    "On the support rotation today",
    "Travelling, replies may be slow",
    "Interviewing candidates most of the day",
)
OUT_OF_OFFICE_MESSAGE = (
    "I am out of the office today with limited access to e-mail. "
    "For anything urgent, please contact my manager."
)
# (availability, activity, weight, possible lengths in minutes) during working hours.
WORKING_STATES: tuple[tuple[str, str, int, tuple[int, ...]], ...] = (
    ("Available", "Available", 40, (15, 30, 45, 60)),
    ("Busy", "InAMeeting", 20, (30, 60)),
    ("Busy", "InACall", 14, (10, 15, 20, 30)),
    ("Busy", "Busy", 6, (20, 30)),
    ("DoNotDisturb", "DoNotDisturb", 6, (45, 60, 90)),
    ("DoNotDisturb", "Presenting", 4, (30, 45)),
    ("BeRightBack", "BeRightBack", 5, (5, 10)),
    ("Away", "Away", 5, (10, 15)),
)


@dataclass(frozen=True)
class TeamsState:
    """What a person's Teams client reports, plus what they set in it."""

    availability: str | None  # None: signed out of Teams (no session)
    activity: str | None
    status_message: str | None = None
    status_until_minute: int | None = None  # minute of the day the message expires
    is_out_of_office: bool = False
    out_of_office_message: str | None = None
    location: str | None = None  # the automatic work-location signal, if any


SIGNED_OUT = TeamsState(availability=None, activity=None)


@dataclass(frozen=True)
class DayPlan:
    """The states of one day; ``states[i]`` holds from minute ``starts[i]``."""

    starts: tuple[int, ...]
    states: tuple[TeamsState, ...]

    def at(self, minute: float) -> tuple[TeamsState, int]:
        """Return the state at ``minute`` of the day and the minute the next state begins."""
        index = bisect.bisect_right(self.starts, minute) - 1
        following = self.starts[index + 1] if index + 1 < len(self.starts) else MINUTES_PER_DAY
        return self.states[index], following


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def plan_day(seed: int, user_id: str, office: str | None, day: int) -> DayPlan:
    """Return the plan of ``user_id`` for the UTC day number ``day`` (days since 1970-01-01)."""
    early_starter = _rng(seed, user_id, "traits").random() < EARLY_STARTER_CHANCE
    rng = _rng(seed, user_id, day)
    if rng.random() < OUT_OF_OFFICE_CHANCE:
        away = TeamsState(
            None, None, is_out_of_office=True, out_of_office_message=OUT_OF_OFFICE_MESSAGE
        )
        return DayPlan((0,), (away,))
    start = 390 + rng.randrange(0, 61, 15) if early_starter else 480 + rng.randrange(0, 106, 15)
    end = min(start + 480 + rng.randrange(0, 91, 15), MINUTES_PER_DAY - 30)
    lunch_start = 720 + rng.randrange(0, 76, 15)
    lunch_end = lunch_start + rng.choice((30, 45, 60))
    message = rng.choice(STATUS_MESSAGES) if rng.random() < STATUS_MESSAGE_CHANCE else None
    remote = office == "Remote" or rng.random() < REMOTE_DAY_CHANCE
    location = "remote" if remote else "office"

    def working(availability: str, activity: str) -> TeamsState:
        return TeamsState(
            availability,
            activity,
            status_message=message,
            status_until_minute=end if message else None,
            location=location,
        )

    starts: list[int] = [0]
    states: list[TeamsState] = [SIGNED_OUT]

    def add(minute: int, state: TeamsState) -> None:
        if state != states[-1]:
            starts.append(minute)
            states.append(state)

    minute = start
    weights = [weight for _, _, weight, _ in WORKING_STATES]
    while minute < end:
        if lunch_start <= minute < lunch_end:
            add(minute, working("Away", "Away"))
            minute = lunch_end
            continue
        availability, activity, _, lengths = rng.choices(WORKING_STATES, weights)[0]
        until = min(minute + rng.choice(lengths), end)
        if minute < lunch_start:
            until = min(until, lunch_start)
        add(minute, working(availability, activity))
        minute = until
    add(end, SIGNED_OUT)
    return DayPlan(tuple(starts), tuple(states))
