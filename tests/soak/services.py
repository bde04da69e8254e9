"""The soak's own services, each one a fault can be put into: Redis, a database proxy.

Redis is a private ``redis-server`` on a free port that a scenario stops, kills and starts
again on the same port and data directory, with or without AOF persistence. PostgreSQL is
the local server, reached through a TCP proxy in this process: taking the proxy down cuts
every open connection and refuses new ones, as an outage of the database host does.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from comms_portal.processes import (
    PROJECT_DIR,
    _die_with_parent,
    free_port,
    redis_answers,
    redis_server_binary,
)

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class PrivateRedis:
    """A ``redis-server`` of the soak's own, restartable on the same port and data."""

    data_dir: Path
    env: dict[str, str]
    appendonly: bool = False
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        """Return the server's command line: AOF ``everysec`` when asked, never RDB snapshots."""
        return [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "everysec",
            "--maxmemory-policy",
            "noeviction",
            "--dir",
            str(self.data_dir),
        ]

    def start(self) -> None:
        """Start the server and wait until it answers (and has loaded its AOF)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            self.command(),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Gone with the test run, however it ends.
            preexec_fn=_die_with_parent(os.getpid()),
        )
        log.close()
        deadline = time.monotonic() + 30
        while not redis_answers("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on {self.port}")
            time.sleep(0.05)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop the server with ``sig`` (SIGTERM writes the AOF out; SIGKILL does not)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class DatabaseProxy:
    """A TCP proxy to PostgreSQL that can go down (cutting connections) and come back."""

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._up = False

    def url_for(self, database_url: str) -> str:
        """Return ``database_url`` pointed at this proxy."""
        parts = urlsplit(database_url)
        netloc = parts.netloc.rsplit("@", 1)
        user = netloc[0] + "@" if len(netloc) == 2 else ""
        return parts._replace(netloc=f"{user}127.0.0.1:{self.port}").geturl()

    def up(self) -> None:
        """Accept connections again, on the same port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        self._up = True
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and cut every open one."""
        self._up = False
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while self._up:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                if not self._up:
                    client.close()
                    server.close()
                    return
                self._open |= {client, server}
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                for sock in (source, target):
                    if sock in self._open:
                        self._open.discard(sock)
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RDWR)
                        sock.close()


def create_database(name: str) -> str:
    """Create a fresh database ``name`` on the local PostgreSQL; return its URL.

    It is a copy of a database the portal's migrations were applied to once for the whole
    run (``template_database``): the portal's own ``migrate`` at start then finds its schema
    in place, as it does on any restart, and each scenario starts no less fresh.
    """
    template = template_database()
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _url_of(name)


def _url_of(name: str) -> str:
    return urlsplit(POSTGRES_ADMIN_URL)._replace(path=f"/{name}").geturl()


_template_lock = threading.Lock()
_template: list[str] = []


def template_database() -> str:
    """Return this run's migrated database to copy, creating it on first use."""
    with _template_lock:
        if _template:
            return _template[0]
        name = database_name("template")
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
        env = {**os.environ, "DEBUG": "true", "DATABASE_URL": _url_of(name)}
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            timeout=300,
        )
        if done.returncode != 0:
            drop_database(name)
            raise RuntimeError(f"migrating the template database failed:\n{done.stderr.decode()}")
        _template.append(name)
        return name


def drop_database(name: str) -> None:
    """Drop database ``name``, closing whatever still uses it."""
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection,
    ):
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# PostgreSQL makes every DROP DATABASE wait for a checkpoint (seconds on a busy machine):
# a scenario's database is dropped behind the next scenario's back, and the last ones (and
# the template) when the run ends.
_drops: queue.Queue[str] = queue.Queue()
_dropper: list[threading.Thread] = []


def drop_database_later(name: str) -> None:
    """Drop database ``name`` in the background; ``finish_drops`` waits for every one."""
    _drops.put(name)
    if not _dropper:
        thread = threading.Thread(target=_drop_queued, name="drop-databases", daemon=True)
        thread.start()
        _dropper.append(thread)


def _drop_queued() -> None:
    while True:
        name = _drops.get()
        try:
            drop_database(name)
        finally:
            _drops.task_done()


def finish_drops() -> None:
    """Drop the template and wait until every database queued for dropping is gone."""
    with _template_lock:
        if _template:
            drop_database_later(_template.pop())
    if _dropper:
        _drops.join()


def database_name(scenario: str) -> str:
    """Return this run's database name for ``scenario``."""
    return f"comms_soak_{os.getpid()}_{scenario}"[:63]
