"""The simulator that makes the demo tenant alive.

Simulated time runs on the sandbox clock, ``speed`` times faster, from a start moment; it can
be paused, resumed, set and stepped. Each person's Teams client follows the day plan of
``sandbox.presence.schedule``. Instead of waking every person on every tick, the simulator
keeps the moment of each person's next plan change in a heap and only touches the people
whose moment has come; after a jump it applies the state at the new time directly, skipping
what happened in between.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sandbox.presence.schedule import MINUTES_PER_DAY, SIGNED_OUT, DayPlan, TeamsState, plan_day

SECONDS_PER_DAY = MINUTES_PER_DAY * 60
# apply(user_id, new state, previously applied state or None, simulated timestamp)
Apply = Callable[[str, TeamsState, TeamsState | None, float], None]


@dataclass(frozen=True)
class Person:
    """Who the simulator moves: the object id and the office (remote workers stay remote)."""

    user_id: str
    office: str | None


class Simulator:
    """Simulated time plus a heap of when each person's Teams client changes next."""

    def __init__(
        self,
        *,
        seed: int,
        people: Iterable[Person],
        clock_now: float,
        start: float,
        speed: float,
        running: bool,
    ) -> None:
        self.seed = seed
        self.people = {person.user_id.lower(): person for person in people}
        self.speed = speed
        self.running = running
        self._anchor_clock = clock_now
        self._anchor_sim = start
        self._heap: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}
        self._plans: dict[str, tuple[int, DayPlan]] = {}
        self.applied: dict[str, TeamsState] = {}
        self._schedule_everyone(start)

    # -- simulated time ----------------------------------------------------------------

    def sim_time(self, clock_now: float) -> float:
        """Return the simulated timestamp at sandbox time ``clock_now``."""
        if not self.running:
            return self._anchor_sim
        return self._anchor_sim + (clock_now - self._anchor_clock) * self.speed

    def _rebase(self, clock_now: float) -> None:
        self._anchor_sim = self.sim_time(clock_now)
        self._anchor_clock = clock_now

    def pause(self, clock_now: float) -> None:
        """Freeze simulated time."""
        self._rebase(clock_now)
        self.running = False

    def resume(self, clock_now: float, speed: float | None = None) -> None:
        """Let simulated time run again, optionally at a new speed."""
        self._rebase(clock_now)
        if speed is not None:
            self.speed = speed
        self.running = True

    def set_time(self, clock_now: float, sim_time: float) -> None:
        """Move simulated time to ``sim_time``; everyone is re-planned from there."""
        self._anchor_clock = clock_now
        self._anchor_sim = sim_time
        self._schedule_everyone(sim_time)

    def step(self, clock_now: float, minutes: float) -> float:
        """Move simulated time forward by ``minutes`` and return the new simulated time."""
        self._rebase(clock_now)
        self._anchor_sim += minutes * 60
        return self._anchor_sim

    def _schedule_everyone(self, moment: float) -> None:
        self._due = dict.fromkeys(self.people, moment)
        self._heap = [(moment, user_id) for user_id in self.people]
        heapq.heapify(self._heap)

    # -- plans -------------------------------------------------------------------------

    def plan(self, user_id: str, day: int) -> DayPlan:
        """Return (and cache for the day) a person's plan."""
        cached = self._plans.get(user_id)
        if cached is not None and cached[0] == day:
            return cached[1]
        person = self.people[user_id]
        plan = plan_day(self.seed, person.user_id, person.office, day)
        self._plans[user_id] = (day, plan)
        return plan

    def state_at(self, user_id: str, sim_time: float) -> tuple[TeamsState, float]:
        """Return a person's planned state at ``sim_time`` and when it changes next."""
        day = math.floor(sim_time / SECONDS_PER_DAY)
        minute = (sim_time - day * SECONDS_PER_DAY) / 60
        state, following = self.plan(user_id.lower(), day).at(minute)
        return state, day * SECONDS_PER_DAY + following * 60

    def next_change(self, user_id: str) -> float | None:
        """Return the simulated time of a person's next scheduled change."""
        return self._due.get(user_id.lower())

    # -- moving people -----------------------------------------------------------------

    def advance(self, sim_time: float, apply: Apply, *, limit: int | None = None) -> bool:
        """Apply every change due by ``sim_time``; return True when ``limit`` left a backlog."""
        handled = 0
        while self._heap and self._heap[0][0] <= sim_time:
            if limit is not None and handled >= limit:
                return True
            due, user_id = heapq.heappop(self._heap)
            if self._due.get(user_id) != due:
                continue  # superseded by a later entry
            state, following = self.state_at(user_id, sim_time)
            self._due[user_id] = following
            heapq.heappush(self._heap, (following, user_id))
            previous = self.applied.get(user_id)
            if state != previous:
                self.applied[user_id] = state
                apply(self.people[user_id].user_id, state, previous, sim_time)
            handled += 1
        return False

    def planned_state(self, user_id: str) -> TeamsState:
        """Return the state last applied to a person (signed out if never)."""
        return self.applied.get(user_id.lower(), SIGNED_OUT)
