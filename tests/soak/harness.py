"""The whole portal on loopback for one soak scenario, with the means to hurt each part.

A :class:`SoakStack` owns a private Redis (restartable, AOF or not), a fresh PostgreSQL
database reached through a proxy that can go down, the sandbox tenant with its presence
simulator, and the portal's processes as ``make demo`` starts them (two ASGI processes, a
Celery worker with two pool processes, Celery beat). Every process it starts carries a
marker in its environment, so that the end of a scenario can prove none is left.

The soak drives presence through the sandbox's control API, watches it with open pages
(:mod:`tests.soak.pages`) and checks the invariant of every scenario
(:meth:`SoakStack.converge`): each change the sandbox made is, within one poll interval
after the fault ends, the state in the store and on every open page.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from comms_portal.processes import Child, Supervisor, free_port
from comms_portal.stack import Stack, StackConfig
from tests.bench.people import sign_in_over_http
from tests.soak.pages import Page, Pages
from tests.soak.services import (
    DatabaseProxy,
    PrivateRedis,
    create_database,
    database_name,
    drop_database_later,
)
from tests.support.cast import AIKO, GRACE, LENA, PRIYA, SAMUEL, TOMAS
from tests.support.process_table import ProcessInfo, carries_marker, live_processes, new_marker
from tests.support.sandbox import RunningSandbox, start_sandbox

# Settings of the portal under soak: Graph's defaults, short only where a test needs it.
POLL_SECONDS = 30
# The invariant's bound after a fault ends: one poll interval, and a few seconds for the poll.
CONVERGE_SECONDS = POLL_SECONDS + 5
OWNERS = (PRIYA, TOMAS, GRACE)
PAGE_OWNERS = (PRIYA, TOMAS, GRACE, SAMUEL, AIKO, LENA)
USERS = 60
WATCHED = 40
SANDBOX_START_SECONDS = 90.0
COVERAGE_SECONDS = 180.0
# What the driver makes people's Teams clients report, cycled: each is a change people see.
CHANGES = (
    ("Busy", "InACall"),
    ("Available", "Available"),
    ("DoNotDisturb", "Presenting"),
    ("Away", "Away"),
    ("Busy", "InAMeeting"),
    ("BeRightBack", "BeRightBack"),
)
METRIC_LINE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
TAKEN_PATTERN = "portal:notifications:inbox-taken:*"
TAKEN_PREFIX = "portal:notifications:inbox-taken:"
DRAINERS_KEY = "portal:notifications:inbox-drainers"
INBOX_KEY = "portal:notifications:inbox"
DEFERRED_KEY = "portal:notifications:inbox-deferred"


def scale() -> float:
    """Return how much to shorten the scenarios' durations (``SOAK_SCALE``, default 1)."""
    value = float(os.environ.get("SOAK_SCALE", "1"))
    if not 0 < value <= 1:
        raise ValueError(f"SOAK_SCALE must be in (0, 1], not {value}")
    return value


def seconds(full: float) -> float:
    """Return a duration of the issue's scenario, shortened by ``SOAK_SCALE``."""
    return max(5.0, full * scale())


@dataclass
class Convergence:
    """How the invariant held at the end of a scenario."""

    seconds: float | None
    people: int
    store_wrong: list[str] = field(default_factory=list)
    pages_wrong: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return len(set(self.store_wrong) | set(self.pages_wrong))


@dataclass
class Accounting:
    """Every notification the intake accepted, and what became of it."""

    delivered_202: int
    accepted: int
    handled: int
    dropped: dict[str, int]
    waiting: int
    taken: int
    deferred: int

    @property
    def unaccounted(self) -> int:
        return self.accepted - self.handled - sum(self.dropped.values())


@dataclass
class Driver:
    """Presence changes forced through the sandbox, one person at a time, at a steady rate."""

    control_url: str
    people: list[str]
    tag: str
    made: list[tuple[str, str]] = field(default_factory=list)  # (person, status message)
    failed: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def change(self, person: str) -> None:
        """Change ``person``'s presence once, with a status message that names the change."""
        number = len(self.made) + self.failed
        availability, activity = CHANGES[number % len(CHANGES)]
        text = f"soak {self.tag} {number}"
        with httpx.Client(base_url=self.control_url, timeout=30, trust_env=False) as http:
            try:
                answer = http.post(
                    f"/presence/{person}",
                    json={
                        "availability": availability,
                        "activity": activity,
                        "statusMessage": text,
                    },
                )
            except httpx.HTTPError:
                self.failed += 1
                return
        if answer.status_code == 200:
            self.made.append((person, text))
        else:
            self.failed += 1

    def start(self, rate: float) -> None:
        """Change presence ``rate`` times a second, round the people, until stopped."""
        self._stop.clear()

        def run() -> None:
            started = time.monotonic()
            count = 0
            while not self._stop.is_set():
                self.change(self.people[(len(self.made) + self.failed) % len(self.people)])
                count += 1
                self._stop.wait(max(0.0, started + count / rate - time.monotonic()))

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None


@dataclass
class SoakStack:
    """The whole portal for one scenario, and what the scenario did to it."""

    name: str
    appendonly: bool = False
    web_processes: int = 2
    beat: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    # The sandbox's delivery settings (``/_sandbox/delivery-settings``), set before the portal
    # subscribes, so that every subscription follows them from the start.
    delivery_settings: dict[str, float] = field(default_factory=dict)
    run_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="portal-soak-")))
    marker: dict[str, str] = field(default_factory=new_marker)
    redis: PrivateRedis | None = None
    proxy: DatabaseProxy | None = None
    sandbox: RunningSandbox | None = None
    stack: Stack | None = None
    pages: Pages | None = None
    sessions: dict[str, str] = field(default_factory=dict)
    watched: list[str] = field(default_factory=list)
    _database: str = ""
    # Seconds each step of starting and stopping took, for the scenario's row.
    steps: dict[str, float] = field(default_factory=dict)

    _last_step: float = 0.0

    def _step(self, name: str) -> None:
        """Note how long the step just finished took (since the previous one ended)."""
        now = time.monotonic()
        self.steps[name] = round(now - (self._last_step or now), 1)
        self._last_step = now

    # --- starting and stopping -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self.stack is not None
        return self.stack.base_url

    @property
    def database_name(self) -> str:
        return self._database

    def stack_or_fail(self) -> Stack:
        assert self.stack is not None
        return self.stack

    @property
    def control_url(self) -> str:
        assert self.sandbox is not None
        return str(self.sandbox.info["control_url"])

    def env(self) -> dict[str, str]:
        """Return the environment every process of the run starts with (marked)."""
        keep = {k: v for k, v in os.environ.items() if not k.startswith("COMMS_PORTAL_TEST_")}
        return {**keep, **self.marker}

    def start(self) -> None:
        """Start every service and the portal; sign the owners in; cover the watched people."""
        os.environ.update(self.marker)  # the sandbox and Redis inherit it from here
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self._step("began")
        self.redis = PrivateRedis(self.run_dir / "redis", self.env(), appendonly=self.appendonly)
        self.redis.start()
        self._database = database_name(self.name)
        self.proxy = DatabaseProxy()
        self.proxy.up()
        database_url = self.proxy.url_for(create_database(self._database))
        self._step("redis_and_database")
        self.sandbox = start_sandbox(
            self.run_dir / "sandbox",
            users=USERS,
            simulate=True,
            timeout=SANDBOX_START_SECONDS,
            extra_args=["--quiet"],
        )
        if self.delivery_settings:
            self.control("POST", "/delivery-settings", self.delivery_settings).raise_for_status()
        self._step("sandbox")
        self.stack = Stack(
            config=StackConfig(
                var_dir=self.run_dir / "portal",
                web_port=free_port(),
                sandbox_port=0,
                database_url=database_url,
                redis_url=self.redis.url,
                reuse_local_redis=False,
                beat=self.beat,
                web_processes=self.web_processes,
                sandbox_info_file=self.run_dir / "sandbox" / "info.json",
                # A copy of the run's migrated template (see create_database).
                migrate=False,
                extra_env={
                    **self.marker,
                    "DEBUG": "false",
                    "SECURE_COOKIES": "false",
                    "LOG_LEVEL": "WARNING",
                    "UVICORN_ACCESS_LOG": "false",
                    "PRESENCE_POLL_SECONDS": str(POLL_SECONDS),
                    **self.extra_env,
                },
            ),
            supervisor=Supervisor(out=(self.run_dir / "portal.log").open("a", buffering=1)),
        )
        self.stack.start()
        self._step("portal")
        for upn in PAGE_OWNERS:
            self.sessions[upn] = sign_in_over_http(self.stack, upn)
        users = self.sandbox.info["users"]
        self.watched = [str(u["id"]) for u in users[:WATCHED]]
        self.pages = Pages(self.base_url)
        self._step("sign_in")
        self._cover()
        self._step("cover")

    def _cover(self) -> None:
        """Have the portal watch the people and wait until subscriptions cover them all."""
        session = self.sessions[OWNERS[0]]
        deadline = time.monotonic() + COVERAGE_SECONDS
        while time.monotonic() < deadline:
            self.snapshot(session)  # keeps them watched and asks for coverage
            if set(self.watched) <= self.covered():
                return
            time.sleep(1)
        missing = len(set(self.watched) - self.covered())
        raise RuntimeError(f"{missing} watched people still uncovered after {COVERAGE_SECONDS} s")

    def covered(self) -> set[str]:
        """Return the people the sandbox's live presence subscriptions cover."""
        found: set[str] = set()
        for item in self.control("GET", "/subscriptions").json()["value"]:
            resource = str(item.get("resource", ""))
            if "presences" in resource:
                found |= set(re.findall(r"'([0-9a-f-]{36})'", resource))
        return found

    def watch_more(self, count: int) -> list[str]:
        """Add ``count`` people nobody watched yet to the watched ones; return them."""
        assert self.sandbox is not None
        users = [str(u["id"]) for u in self.sandbox.info["users"]]
        more = [u for u in users if u not in self.watched][:count]
        self.watched.extend(more)
        return more

    def open_page(self, name: str, people: list[str]) -> Page:
        """Open one more page, of the first owner, showing ``people``."""
        assert self.pages is not None
        return self.pages.open(name, self.sessions[OWNERS[0]], people)

    def fault(self, **fault: Any) -> None:
        """Inject a fault into the sandbox (see its ``/_sandbox/faults``)."""
        answer = self.control("POST", "/faults", fault)
        if answer.status_code != 201:
            raise RuntimeError(f"the sandbox refused the fault {fault}: {answer.text}")

    def faults_left(self) -> int:
        """Return how many requests the injected faults still wait for."""
        return sum(int(f["remaining"]) for f in self.control("GET", "/faults").json()["faults"])

    def clear_faults(self) -> None:
        self.control("DELETE", "/faults")

    def open_pages(self, count: int = 4) -> list[Page]:
        """Open ``count`` pages, each watching every watched person, from several sign-ins."""
        assert self.pages is not None
        owners = list(self.sessions)
        return [
            self.pages.open(f"page-{i}", self.sessions[owners[i % len(owners)]], self.watched)
            for i in range(count)
        ]

    def stop(self) -> list[ProcessInfo]:
        """Stop everything the run started; return what is still running afterwards."""
        self._step("scenario")  # from covered until the stop
        if self.pages is not None:
            self.pages.close()
            self.pages = None
        self._step("stop_pages")
        if self.stack is not None:
            self.stack.stop()
        self._step("stop_portal")
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        if self.redis is not None:
            self.redis.stop()
        if self.proxy is not None:
            self.proxy.down()
        self._step("stop_services")
        if self._database:
            drop_database_later(self._database)
        for key in self.marker:
            os.environ.pop(key, None)
        left = self.wait_for_nothing_left(timeout=30)
        self._step("nothing_left")
        return left

    def leftovers(self) -> list[ProcessInfo]:
        """Return the live processes that carry the run's marker."""
        return [p for p in live_processes() if carries_marker(p.pid, self.marker)]

    def wait_for_nothing_left(self, *, timeout: float) -> list[ProcessInfo]:
        deadline = time.monotonic() + timeout
        left = self.leftovers()
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = self.leftovers()
        for process in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
        return left

    # --- the parts, to hurt them -----------------------------------------------------------

    def child(self, name: str) -> Child:
        """Return the supervised process called ``name`` (web, worker, beat)."""
        assert self.stack is not None
        return next(c for c in self.stack.supervisor.children if c.name == name)

    def pool_processes(self) -> list[int]:
        """Return the pids of the Celery worker's pool processes."""
        worker = self.child("worker").process.pid
        return [p.pid for p in live_processes() if p.ppid == worker]

    def web_processes_pids(self) -> list[int]:
        """Return the pids of uvicorn's worker processes (the ASGI processes)."""
        web = self.child("web").process.pid
        # uvicorn spawns its workers; its other children (a resource tracker) serve nobody.
        return [p.pid for p in live_processes() if p.ppid == web and "spawn_main" in p.command]

    def kill_worker(self) -> None:
        """SIGKILL the whole Celery worker: its main process and its pool, at once."""
        child = self.child("worker")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pgid, signal.SIGKILL)
        child.process.wait(timeout=30)
        assert self.stack is not None
        self.stack.supervisor.children.remove(child)

    def start_worker(self, *, wait: bool = True) -> None:
        """Start a Celery worker as the stack does; unless told not to, wait until it reports."""
        assert self.stack is not None
        env = self.stack.env
        argv = [sys.executable, "-m", "celery", "-A", "comms_portal", "worker", "-l", "WARNING"]
        argv += ["--concurrency", "2", "-n", "worker@%h"]
        self.stack.supervisor.start("worker", argv, env=env)
        if not wait:
            return
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.stack.health().get("checks", {}).get("worker", {}).get("up"):
                return
            time.sleep(0.5)
        raise RuntimeError("the restarted worker did not report in 90 s")

    def stop_worker(self) -> None:
        """Stop the Celery worker as an operator does (SIGTERM, warm shutdown)."""
        assert self.stack is not None
        child = self.child("worker")
        # To the main process only: it finishes the tasks in hand, then stops its pool.
        began = time.monotonic()
        child.process.send_signal(signal.SIGTERM)
        child.process.wait(timeout=90)
        self.stack.supervisor.children.remove(child)
        # A drain in hand finishes its turn first: the longest wait of the scenarios using it.
        self.steps["worker_stop"] = round(time.monotonic() - began, 1)

    def redis_client(self) -> redis.Redis[bytes]:
        assert self.redis is not None
        return redis.Redis.from_url(self.redis.url, socket_timeout=10)

    def mid_drain(self) -> tuple[int, int]:
        """Return (bodies waiting, bodies a drain has taken and not yet finished)."""
        client = self.redis_client()
        drainers = [raw.decode() for raw in client.smembers(DRAINERS_KEY)]
        pipeline = client.pipeline(transaction=False)
        pipeline.llen(INBOX_KEY)
        for drainer in drainers:
            pipeline.llen(TAKEN_PREFIX + drainer)
        waiting, *taken = pipeline.execute()
        return int(waiting), sum(int(n) for n in taken)

    # --- the sandbox -----------------------------------------------------------------------

    def control(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """Call the sandbox's control API (``path`` under ``/_sandbox``)."""
        assert self.sandbox is not None
        return self.sandbox.control(method, path, json=json)

    def driver(self) -> Driver:
        return Driver(self.control_url, self.watched, self.name)

    def pause_simulator(self) -> None:
        self.control("POST", "/presence/pause", {})

    def sandbox_states(self) -> dict[str, tuple[str, str, str]]:
        """Return each watched person's presence as the sandbox has it."""
        answer = self.control("GET", f"/presence/state?ids={','.join(self.watched)}").json()
        people = answer.get("people") or answer.get("presence") or answer
        states: dict[str, tuple[str, str, str]] = {}
        for person, data in _by_person(people).items():
            presence = data.get("presence", data)
            message = presence.get("statusMessage") or {}
            text = ((message.get("message") or {}).get("content")) if message else ""
            states[person] = (
                str(presence.get("availability")),
                str(presence.get("activity")),
                str(text or ""),
            )
        return states

    # --- the portal, seen from outside -----------------------------------------------------

    def snapshot(self, session: str | None = None) -> dict[str, dict[str, Any]]:
        """Return the stored presence of the watched people, as the snapshot API gives it."""
        cookie = session or self.sessions[OWNERS[0]]
        cookies = {"sessionid": cookie}
        with httpx.Client(base_url=self.base_url, timeout=30, cookies=cookies) as http:
            answer = http.get("/people/api/presence", params={"ids": ",".join(self.watched)})
        if answer.status_code != 200:
            return {}
        return dict(answer.json().get("presence", {}))

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Return the portal's /metrics as {(name, labels): value}."""
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            text = http.get("/metrics").text
        values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for line in text.splitlines():
            match = METRIC_LINE.match(line)
            if match is None:
                continue
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', match["labels"] or "")))
            values[(match["name"], labels)] = float(match["value"])
        return values

    def accounting(self) -> Accounting:
        """Compare what the sandbox delivered with 202 and what the portal made of it."""
        metrics = self.metrics()

        def total(name: str, **wanted: str) -> float:
            return sum(
                value
                for (metric, labels), value in metrics.items()
                if metric == name and all((k, v) in labels for k, v in wanted.items())
            )

        dropped: dict[str, int] = {}
        for (metric, labels), value in metrics.items():
            if metric == "comms_portal_notifications_dropped_total" and value:
                reason = dict(labels).get("reason", "?")
                dropped[reason] = dropped.get(reason, 0) + int(value)
        client = self.redis_client()
        return Accounting(
            delivered_202=self.delivered_202(),
            accepted=int(total("comms_portal_notifications_accepted_total", kind="presence")),
            handled=int(total("comms_portal_notifications_handled_total", kind="presence")),
            dropped=dropped,
            waiting=int(client.llen(INBOX_KEY)),
            taken=sum(int(client.llen(key)) for key in client.scan_iter(TAKEN_PATTERN)),
            deferred=int(client.zcard(DEFERRED_KEY)),
        )

    def delivered_202(self) -> int:
        """Return how many presence notifications the sandbox delivered with a 2xx answer."""
        answer = self.control("GET", "/deliveries").json()
        count = 0
        for item in answer.get("value", answer.get("deliveries", [])):
            url = str(item.get("url", ""))
            if "/graph/notifications/presence" in url and item.get("outcome") == "delivered":
                count += int(item.get("notifications", 1))
        return count

    def sandbox_pending(self) -> int:
        """Return how many notifications the sandbox still has to deliver (retries included)."""
        return int(self.control("GET", "/deliveries").json().get("pending", 0))

    def wait_drained(self, *, timeout: float) -> Accounting:
        """Wait until the inbox, the taken lists and the deferred set are empty."""
        deadline = time.monotonic() + timeout
        account = self.accounting()
        while time.monotonic() < deadline:
            idle = account.waiting == account.taken == account.deferred == 0
            if idle and self.sandbox_pending() == 0:
                return account
            time.sleep(0.25)
            account = self.accounting()
        return account

    def converge(self, pages: list[Page], *, since: float, bound: float) -> Convergence:
        """Wait up to ``bound`` seconds after ``since`` for store and pages to equal the sandbox.

        The simulator is paused first, so the state compared stands still.
        """
        self.pause_simulator()
        expected: dict[str, tuple[str, str, str]] = {}
        store_wrong: list[str] = []
        pages_wrong: list[str] = []
        while True:
            expected = self.sandbox_states()
            stored = self.snapshot()
            store_wrong = [p for p in self.watched if _state(stored.get(p)) != expected.get(p)]
            pages_wrong = [
                f"{page.name}:{p}"
                for page in pages
                if page.closed_code is None
                for p in page.people
                if _state(page.shown.get(p)) != expected.get(p)
            ]
            if not store_wrong and not pages_wrong:
                return Convergence(time.monotonic() - since, len(self.watched))
            if time.monotonic() - since > bound:
                return Convergence(None, len(self.watched), store_wrong, pages_wrong)
            time.sleep(0.5)

    def log_tail(self, chars: int = 6000) -> str:
        path = self.run_dir / "portal.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _by_person(people: Any) -> dict[str, dict[str, Any]]:
    if isinstance(people, dict):
        return {str(k): v for k, v in people.items() if isinstance(v, dict)}
    return {str(item.get("id")): item for item in people if isinstance(item, dict)}


def _state(payload: dict[str, Any] | None) -> tuple[str, str, str] | None:
    if payload is None:
        return None
    return (
        str(payload.get("availability")),
        str(payload.get("activity")),
        str(payload.get("status_message") or ""),
    )


def sign_out(base_url: str, session: str) -> int:
    """Sign a browser's session out as its page's button does (POST with the CSRF token)."""
    with httpx.Client(base_url=base_url, timeout=30, cookies={"sessionid": session}) as http:
        http.get("/people/")
        token = http.cookies.get("csrftoken") or ""
        answer = http.post(
            "/accounts/signout/",
            headers={"X-CSRFToken": token, "Origin": base_url, "Referer": f"{base_url}/people/"},
        )
    return answer.status_code
