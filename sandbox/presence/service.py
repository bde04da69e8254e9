"""The presence area of a running sandbox: options, store, simulator and the loop driving them.

``python -m sandbox`` runs the simulator unless ``--no-simulate`` is given; then simulated
time stands still until the control API resumes or steps it, and everyone stays signed out
of Teams (``Offline``) until a test or the API says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sandbox.loops import start_loop, stop_loop
from sandbox.presence.model import (
    LocationSignal,
    PersonPresence,
    Session,
    StatusMessage,
    end_of_day,
)
from sandbox.presence.schedule import TeamsState
from sandbox.presence.simulator import Person, Simulator
from sandbox.presence.store import PresenceStore
from sandbox.presence.subscriptions import publish_presence

if TYPE_CHECKING:
    from sandbox.state import SandboxState

logger = logging.getLogger("sandbox.presence")

_OPTIONS_KEY = "presence.options"
_AREA_KEY = "presence"
TICK_SECONDS = 0.1
# People settled per loop turn, so a large tenant's first day does not stall the server.
CHANGES_PER_TURN = 2_000
MAX_SPEED = 10_000.0
_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class PresenceOptions:
    """How the simulator starts: on or off, its speed, and the time of day it starts at."""

    simulate: bool = True
    speed: float = 1.0
    seed: int = 1
    start_time: str = "09:30"  # UTC time of day on the sandbox clock's current date


def add_presence_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--simulate/--no-simulate``, ``--speed`` and ``--sim-start`` to the command line."""
    parser.add_argument(
        "--simulate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="let the simulated people change their presence (default: on)",
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="how much faster simulated time runs (1 = real)"
    )
    parser.add_argument(
        "--sim-start", default="09:30", help="UTC time of day the simulated day starts at (HH:MM)"
    )


def presence_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> PresenceOptions:
    """Check the presence arguments and return them as options."""
    if not 0 < args.speed <= MAX_SPEED:
        parser.error(f"--speed must be above 0 and at most {MAX_SPEED:g}")
    if not _CLOCK_TIME.match(args.sim_start):
        parser.error("--sim-start must be a time of day such as 09:30")
    return PresenceOptions(
        simulate=args.simulate, speed=args.speed, seed=args.seed, start_time=args.sim_start
    )


def configure_presence(state: SandboxState, options: PresenceOptions) -> None:
    """Remember the options; the area is built from them on first use."""
    state.extensions[_OPTIONS_KEY] = options


def start_of_simulation(now: float, start_time: str) -> float:
    """Return the timestamp of ``start_time`` (UTC) on the date of ``now``."""
    hours, minutes = (int(part) for part in start_time.split(":"))
    day = datetime.fromtimestamp(now, tz=UTC)
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=UTC).timestamp()


@dataclass
class PresenceArea:
    """Everything presence needs at run time."""

    state: SandboxState
    store: PresenceStore
    simulator: Simulator
    options: PresenceOptions
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def now(self) -> float:
        """Return the sandbox time."""
        return self.state.clock.timestamp()

    def catch_up(self) -> bool:
        """Apply the simulator's due changes and the store's timers; True if work remains."""
        now = self.now()
        backlog = False
        if self.simulator.running:
            backlog = self.simulator.advance(
                self.simulator.sim_time(now), self.apply_planned, limit=CHANGES_PER_TURN
            )
        self.store.process_due(now)
        return backlog

    def apply_planned(
        self, user_id: str, state: TeamsState, previous: TeamsState | None, sim_time: float
    ) -> None:
        """Set what changed in a person's plan, leaving what the API set since alone."""
        now = self.now()
        status_expiry: float | None = None
        if state.status_until_minute is not None:
            day_start = sim_time - sim_time % 86_400
            remaining = day_start + state.status_until_minute * 60 - sim_time
            status_expiry = now + max(remaining, 60) / self.simulator.speed

        def mutate(person: PersonPresence) -> None:
            def changed(name: str) -> bool:
                return previous is None or getattr(previous, name) != getattr(state, name)

            if changed("availability") or changed("activity"):
                set_teams_session(person, state.availability, state.activity, now)
            if changed("status_message"):
                person.status = (
                    None
                    if state.status_message is None
                    else StatusMessage(state.status_message, "text", status_expiry, now)
                )
            if changed("is_out_of_office") or changed("out_of_office_message"):
                person.is_out_of_office = state.is_out_of_office
                person.out_of_office_message = state.out_of_office_message
            if changed("location"):
                person.automatic_location = (
                    None
                    if state.location is None
                    else LocationSignal(state.location, None, end_of_day(now))
                )

        self.store.change(user_id, now, mutate)

    async def run(self) -> None:
        """Drive the simulator and the timers until cancelled."""
        while True:
            try:
                with self.state.lock:
                    backlog = self.catch_up()
            except Exception:  # one bad turn must not stop presence
                logger.exception("presence loop turn failed")
                backlog = False
            await asyncio.sleep(0 if backlog else TICK_SECONDS)


def set_teams_session(
    person: PersonPresence, availability: str | None, activity: str | None, now: float
) -> None:
    """Sign the person's Teams client in with a state, or out (availability None/Offline)."""
    if availability is None or availability == "Offline" or activity is None:
        person.teams = None
    else:
        person.teams = Session(availability, activity, set_at=now, expires_at=None)


def presence_of(state: SandboxState) -> PresenceArea:
    """Return the presence area of ``state``, building it on first use."""
    area = state.extensions.get(_AREA_KEY)
    if isinstance(area, PresenceArea):
        return area
    with state.lock:
        area = state.extensions.get(_AREA_KEY)
        if isinstance(area, PresenceArea):
            return area
        options = state.extensions.get(_OPTIONS_KEY)
        if not isinstance(options, PresenceOptions):
            options = PresenceOptions()
        now = state.clock.timestamp()
        users = state.tenant.live_users()
        store = PresenceStore((user.id for user in users), now)
        simulator = Simulator(
            seed=options.seed,
            people=[
                Person(user.id, user.office_location)
                for user in users
                if not user.is_service_account
            ],
            clock_now=now,
            start=start_of_simulation(now, options.start_time),
            speed=options.speed,
            running=options.simulate,
        )
        area = PresenceArea(state=state, store=store, simulator=simulator, options=options)
        store.subscribe(lambda person: publish_presence(state, person))
        state.extensions[_AREA_KEY] = area
        return area


async def start_presence(state: SandboxState) -> None:
    """Build the area and start its loop; call once from the app's startup."""
    area = presence_of(state)
    start_loop(area, "presence")


async def stop_presence(state: SandboxState) -> None:
    """Stop the loop; call from the app's shutdown."""
    area = presence_of(state)
    await stop_loop(area)
