"""The benchmark's own services: a private Redis, a large sandbox tenant, a fresh database.

Everything listens on 127.0.0.1 and belongs to one run: the run starts it, points this
process's Django settings at it, and stops and removes it at the end. The whole portal
(ASGI server and Celery worker) is started on the same services by :func:`start_portal`.
"""

from __future__ import annotations

import contextlib
import os
import resource
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import psycopg
from cryptography.fernet import Fernet

from comms_portal.processes import Supervisor, free_port
from comms_portal.stack import Stack, StackConfig
from tests.support.sandbox import RunningSandbox, start_sandbox

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# A 10,000-person tenant takes a few seconds to generate; leave room on a busy machine.
SANDBOX_START_SECONDS = 120.0


class BenchSetupError(RuntimeError):
    """A service the benchmarks need could not be started; the message says which."""


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark runs: the full sizes of ``make bench`` or the quick ones."""

    users: int
    poll_sizes: tuple[int, ...]
    naive_sizes: tuple[int, ...]
    naive_raised_sizes: tuple[int, ...]
    wall_requests: int
    ws_clients: int
    ws_watch: int
    ws_pool: int
    change_rate: float
    change_seconds: float
    webhook_rate: float
    webhook_seconds: float
    floor_samples: int
    company_clients: int
    company_watch: int
    company_pool: int
    # Call records ingested from the sandbox, and dashboard timings over them.
    callrecords: int = 100_000
    callrecords_requests: int = 20
    # Calls: new calls a second at the reception line and for how long (20/s for 10 s leaves
    # 200 in the menu), the routing team, and signed callbacks a second at the intake.
    calls_rate: float = 20.0
    calls_seconds: float = 10.0
    routing_team: int = 500
    callback_rate: float = 1_000.0
    callback_seconds: float = 20.0
    # Meetings: people filling (then emptying) a meeting, pages watching it, attendance size.
    meeting_people: int = 1_000
    meeting_watchers: int = 100
    attendance_people: int = 1_000


FULL = Sizes(
    users=10_000,
    poll_sizes=(100, 1_000, 10_000),
    naive_sizes=(100, 1_000),
    naive_raised_sizes=(10_000,),
    wall_requests=200,
    ws_clients=1_000,
    ws_watch=200,
    ws_pool=2_000,
    change_rate=20.0,
    change_seconds=30.0,
    webhook_rate=1_000.0,
    webhook_seconds=20.0,
    floor_samples=500,
    company_clients=10_000,
    company_watch=60,
    company_pool=10_000,
)

QUICK = Sizes(
    users=1_000,
    poll_sizes=(100, 1_000),
    naive_sizes=(100,),
    naive_raised_sizes=(),
    wall_requests=20,
    ws_clients=20,
    ws_watch=50,
    ws_pool=200,
    change_rate=5.0,
    change_seconds=3.0,
    webhook_rate=100.0,
    webhook_seconds=2.0,
    floor_samples=50,
    company_clients=200,
    company_watch=60,
    company_pool=1_000,
    callrecords=2_000,
    callrecords_requests=5,
    calls_rate=5.0,
    calls_seconds=2.0,
    routing_team=50,
    callback_rate=100.0,
    callback_seconds=2.0,
    meeting_people=50,
    meeting_watchers=5,
    attendance_people=200,
)


def raise_open_file_limit() -> int:
    """Raise this process's limit of open files to the hard limit; return the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


def postgres_answers() -> bool:
    """Tell whether the local PostgreSQL accepts the benchmark's connections."""
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def create_postgres_database(name: str) -> str:
    """Create a fresh database ``name`` on the local PostgreSQL and return its URL."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlsplit(POSTGRES_ADMIN_URL)._replace(path=f"/{name}").geturl()


def drop_postgres_database(name: str) -> None:
    """Drop database ``name``, closing whatever still uses it."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class BenchEnvironment:
    """The services of one benchmark run and the environment that points at them."""

    sizes: Sizes
    database: str = "auto"  # "postgres", "sqlite" or "auto" (PostgreSQL when it answers)
    keep_files: bool = False
    # Parts of a benchmark to run (``--part``), for benchmarks made of parts; empty: all.
    parts: tuple[str, ...] = ()
    run_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="portal-bench-")))
    web_port: int = field(default_factory=free_port)
    redis_url: str = ""
    database_url: str = ""
    database_kind: str = ""
    sandbox: RunningSandbox | None = None
    _services: Stack | None = None
    _postgres_name: str = ""
    _log: IO[str] | None = None
    _secrets: dict[str, str] = field(
        default_factory=lambda: {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        }
    )

    @property
    def base_url(self) -> str:
        """Return where the portal answers once started (the same port for every start)."""
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "services.log"

    def log(self) -> IO[str]:
        """Return the file every started process writes its lines to."""
        if self._log is None:
            self._log = self.log_path.open("a", buffering=1)
        return self._log

    def start(self) -> None:
        """Start Redis and the sandbox, create the database, and export the settings."""
        # Thousands of sockets: this process and the servers it starts (which inherit the
        # limit) hold a descriptor for each.
        raise_open_file_limit()
        # The run always has a Redis of its own, whatever the calling shell points at.
        os.environ.pop("REDIS_URL", None)
        self._services = Stack(
            config=StackConfig(var_dir=self.run_dir, reuse_local_redis=False),
            supervisor=Supervisor(out=self.log()),
        )
        self.redis_url = self._services.ensure_redis(self.run_dir)
        self.sandbox = start_sandbox(
            self.run_dir / "sandbox",
            users=self.sizes.users,
            simulate=False,
            timeout=SANDBOX_START_SECONDS,
            # Graph's own notification latency is what the sandbox adds; keep its log quiet.
            extra_args=["--quiet"],
        )
        self._create_database()
        os.environ.update(self.portal_environment())

    def _create_database(self) -> None:
        wanted = self.database
        if wanted == "auto":
            wanted = "postgres" if postgres_answers() else "sqlite"
        if wanted == "postgres":
            self._postgres_name = f"comms_portal_bench_{os.getpid()}"
            self.database_url = create_postgres_database(self._postgres_name)
        elif wanted == "sqlite":
            self.database_url = f"sqlite:///{self.run_dir / 'portal.sqlite3'}"
        else:
            raise BenchSetupError(f"--database must be postgres, sqlite or auto, not {wanted!r}")
        self.database_kind = wanted

    def portal_environment(self) -> dict[str, str]:
        """Return the settings this process and every portal process share."""
        assert self.sandbox is not None
        return {
            "DJANGO_SETTINGS_MODULE": "comms_portal.settings",
            "PORTAL_VAR_DIR": str(self.run_dir / "portal"),
            "REDIS_URL": self.redis_url,
            "DATABASE_URL": self.database_url,
            "SANDBOX_INFO_FILE": str(self.run_dir / "sandbox" / "info.json"),
            "PUBLIC_BASE_URL": self.base_url,
            # Production-like: no debug bookkeeping, generated secrets; plain http on loopback.
            "DEBUG": "false",
            "SECURE_COOKIES": "false",
            **self._secrets,
            "LOG_LEVEL": "WARNING",
            "LIVE_MAX_SOCKETS_PER_PERSON": "20000",  # thousands of clients share a few sign-ins
            # One access-log line per request would be a benchmark of the log file.
            "UVICORN_ACCESS_LOG": "false",
        }

    def stop(self) -> None:
        """Stop every service of the run and remove its files (unless asked to keep them)."""
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        if self._services is not None:
            self._services.stop()
            self._services = None
        if self._postgres_name:
            with contextlib.suppress(psycopg.Error):
                drop_postgres_database(self._postgres_name)
            self._postgres_name = ""
        if self._log is not None:
            self._log.close()
            self._log = None
        if not self.keep_files:
            shutil.rmtree(self.run_dir, ignore_errors=True)


@contextlib.contextmanager
def portal_running(
    bench: BenchEnvironment, *, name: str, extra_env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """Run the whole portal (ASGI server and Celery worker, no beat) on the run's services."""
    stack = start_portal(bench, name=name, extra_env=extra_env)
    try:
        yield stack
    finally:
        stack.stop()


def start_portal(
    bench: BenchEnvironment, *, name: str, extra_env: dict[str, str] | None = None
) -> Stack:
    """Start the portal (with ``extra_env`` settings); its log lines go to the run's log."""
    stack = Stack(
        config=StackConfig(
            var_dir=bench.run_dir / f"stack-{name}",
            web_port=bench.web_port,
            sandbox_port=0,
            database_url=bench.database_url,
            redis_url=bench.redis_url,
            reuse_local_redis=False,
            beat=False,
            sandbox_info_file=bench.run_dir / "sandbox" / "info.json",
            web_processes=int(os.environ.get("BENCH_WEB_PROCESSES", "2")),
            extra_env=dict(extra_env or {}),
        ),
        supervisor=Supervisor(out=bench.log()),
    )
    started = time.monotonic()
    stack.start()
    stack.supervisor.say("bench", f"portal ({name}) up in {time.monotonic() - started:.1f} s")
    return stack
