"""Start and supervise every process of the portal on one machine.

``python -m comms_portal.stack demo`` is what ``make demo`` runs: Redis (a private one when
none answers), the sandbox tenant, the ASGI server, a Celery worker and Celery beat, each
log line prefixed with the process's name, all stopped together on Ctrl-C, SIGTERM or a
closing terminal, or when one dies; none outlives the launcher, even a killed one.
The browser tests start the same stack on free ports through :class:`Stack`.

This module starts the sandbox as a separate program and never imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import urlopen

from cryptography.fernet import Fernet

from comms_portal.processes import (
    PROJECT_DIR,
    StackError,
    StopRequested,
    Supervisor,
    free_port,
    http_answers,
    port_in_use,
    redis_answers,
    redis_server_command,
)
from comms_portal.stop_signals import StopSignals

PYTHON = sys.executable

# Migrating a fresh database and seeding the directory take seconds; this bounds a hang.
ONE_SHOT_TIMEOUT_SECONDS = 300


def load_local_secrets(var_dir: Path) -> dict[str, str]:
    """Return the demo's generated secrets, creating them on first use (never committed)."""
    path = var_dir / "local-secrets.json"
    if path.exists():
        data = json.loads(path.read_text())
        if isinstance(data, dict) and {"SECRET_KEY", "TOKEN_ENCRYPTION_KEYS"} <= data.keys():
            return {str(key): str(value) for key, value in data.items()}
    data = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    var_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    path.chmod(0o600)
    return data


@dataclass
class StackConfig:
    """Where each part of the stack listens, and with which data."""

    var_dir: Path
    web_port: int = 8000
    sandbox_port: int = 8400
    seed: int = 1
    users: int = 60
    database_url: str | None = None
    redis_url: str | None = None
    # The demo reuses a Redis already answering on 6379; the tests always start their own.
    reuse_local_redis: bool = True
    # Start a Redis of the stack's own even when REDIS_URL is set (stopping it is tested).
    private_redis: bool = False
    worker_concurrency: int = 2
    beat: bool = True
    # ASGI server processes on the one port (uvicorn --workers); each has its own event loop.
    web_processes: int = 1
    # How much faster than real time the sandbox's presence simulator runs.
    simulation_speed: float = 1.0
    # Use an already running sandbox (its info file) instead of starting one.
    sandbox_info_file: Path | None = None
    # Apply the migrations at start (off only where the database was migrated already).
    migrate: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass
class Stack:
    """The whole portal, started and supervised."""

    config: StackConfig
    supervisor: Supervisor = field(default_factory=Supervisor)
    env: dict[str, str] = field(default_factory=dict)
    sandbox_info: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.config.web_port}"

    def start(self) -> None:
        """Start every process and wait until the portal answers."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        config = self.config
        var_dir = config.var_dir.resolve()
        var_dir.mkdir(parents=True, exist_ok=True)
        ports = [(config.web_port, "the portal")]
        if config.sandbox_info_file is None and config.sandbox_port:
            ports += [(config.sandbox_port, "the sandbox"), (config.sandbox_port + 1, "its https")]
        for port, what in ports:
            if port and port_in_use(port):
                raise StackError(f"Port {port} for {what} is already in use; stop what uses it.")

        env = dict(os.environ)
        env.update({"PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "comms_portal.settings"})
        for key, value in load_local_secrets(var_dir).items():
            env.setdefault(key, value)
        env["PORTAL_VAR_DIR"] = str(var_dir)
        env["PUBLIC_BASE_URL"] = self.base_url
        env["REDIS_URL"] = self.ensure_redis(var_dir)
        if config.database_url:
            env["DATABASE_URL"] = config.database_url
        env.update(config.extra_env)
        self.env = env

        if config.sandbox_info_file is None:
            self._start_sandbox(var_dir)
            env["SANDBOX_INFO_FILE"] = str(var_dir / "sandbox.json")
        else:
            self.sandbox_info = json.loads(config.sandbox_info_file.read_text())
            env["SANDBOX_INFO_FILE"] = str(config.sandbox_info_file)

        if config.migrate:
            self._run_once("migrate", ["migrate", "--noinput"], "Database migrations failed")
        # Seed the people directory from the tenant, so the wall is full on the first visit.
        self._run_once("seed", ["sync_directory"], "The directory sync failed")

        web = self.supervisor.start(
            "web",
            [
                PYTHON,
                "-m",
                "uvicorn",
                "comms_portal.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(config.web_port),
                "--workers",
                str(config.web_processes),
                "--no-server-header",
            ],
            env=env,
        )
        # Celery logs two lines a task at INFO; at webhook rates that is a benchmark of the log.
        log_level = env.get("LOG_LEVEL", "INFO")
        worker_argv = [PYTHON, "-m", "celery", "-A", "comms_portal", "worker", "-l", log_level]
        worker_argv += ["--concurrency", str(config.worker_concurrency), "-n", "worker@%h"]
        worker = self.supervisor.start("worker", worker_argv, env=env)
        if config.beat:
            schedule = str(var_dir / "celerybeat-schedule")
            beat_argv = [PYTHON, "-m", "celery", "-A", "comms_portal", "beat", "-l", log_level]
            self.supervisor.start("beat", [*beat_argv, "-s", schedule], env=env)

        self.supervisor.wait_until(
            lambda: http_answers(f"{self.base_url}/healthz"),
            what="the portal (web)",
            timeout=60,
            child=web,
        )
        self.supervisor.wait_until(
            self._worker_ready, what="the Celery worker", timeout=60, child=worker
        )

    def _run_once(self, name: str, command: list[str], failure: str) -> None:
        """Run one manage.py command to completion, its output prefixed with ``name``."""
        self.supervisor.say(name, f"manage.py {' '.join(command)}")
        returncode = self.supervisor.run(
            name,
            [PYTHON, "manage.py", *command],
            env=self.env,
            timeout=ONE_SHOT_TIMEOUT_SECONDS,
        )
        if returncode != 0:
            raise StackError(f"{failure}; see the {name} lines above.")

    def health(self) -> dict[str, Any]:
        """Return the portal's /healthz report, whatever its status code."""
        try:
            with urlopen(f"{self.base_url}/healthz", timeout=5) as response:  # noqa: S310
                body = json.load(response)
        except HTTPError as exc:
            body = json.load(exc)
        except (OSError, ValueError):
            return {}
        return body if isinstance(body, dict) else {}

    def _worker_ready(self) -> bool:
        return bool(self.health().get("checks", {}).get("worker", {}).get("up"))

    def ensure_redis(self, var_dir: Path) -> str:
        """Return a Redis URL: the configured one, REDIS_URL, 6379 (demo), or a private server."""
        config = self.config
        if config.redis_url:
            return config.redis_url
        if not config.private_redis:
            if os.environ.get("REDIS_URL"):
                return os.environ["REDIS_URL"]
            if config.reuse_local_redis and redis_answers("127.0.0.1", 6379):
                return "redis://127.0.0.1:6379/0"
        # Not a port the stack was told to use: it may be free now only because it starts later.
        port = free_port(avoid={config.web_port, config.sandbox_port, config.sandbox_port + 1})
        data_dir = var_dir / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        child = self.supervisor.start(
            "redis", redis_server_command(port, data_dir), env=dict(os.environ)
        )
        self.supervisor.wait_until(
            lambda: redis_answers("127.0.0.1", port), what="redis", timeout=20, child=child
        )
        return f"redis://127.0.0.1:{port}/0"

    def _start_sandbox(self, var_dir: Path) -> None:
        config = self.config
        info_file = var_dir / "sandbox.json"
        info_file.unlink(missing_ok=True)
        child = self.supervisor.start(
            "sandbox",
            [
                PYTHON,
                "-m",
                "sandbox",
                "--host",
                "127.0.0.1",
                "--port",
                str(config.sandbox_port),
                "--seed",
                str(config.seed),
                "--users",
                str(config.users),
                "--speed",
                str(config.simulation_speed),
                "--info-file",
                str(info_file),
                "--state-dir",
                str(var_dir / "sandbox"),
                # Admin consent answers here; Entra only redirects to registered URIs.
                "--redirect-uri",
                f"{self.base_url}/admin-portal/consent-done",
                # Calls to the reception line reach the portal's calling bot.
                "--calling-webhook",
                f"{self.base_url}/graph/notifications/calls",
            ],
            env=self.env,
        )
        self.supervisor.wait_until(info_file.exists, what="the sandbox", timeout=60, child=child)
        self.sandbox_info = json.loads(info_file.read_text())

    def supervise(self) -> int:
        """Block until a stop signal or a child's death; stop everything; return an exit code."""
        return self.supervisor.supervise()

    def stop(self) -> None:
        """Stop every process of the stack."""
        self.supervisor.stop_all()


def _demo_banner(stack: Stack) -> str:
    users = stack.sandbox_info.get("users", [])
    admin = next((u for u in users if "Portal.Admin" in (u.get("roles") or [])), None)
    person = next((u for u in users if "Portal.Admin" not in (u.get("roles") or [])), None)
    lines = ["", f"  Comms Portal is running at {stack.base_url}/", ""]
    if person or admin:
        lines.append("  Sign in with one of the demo tenant's people:")
        for who, label in ((person, "employee"), (admin, "admin")):
            if who:
                name = f"{who.get('userPrincipalName')} ({who.get('displayName')})"
                lines.append(f"    {label:<9} {name}  password: {who.get('password')}")
    lines += [f"  Health: {stack.base_url}/healthz    Stop: Ctrl-C", ""]
    return "\n".join(lines)


def _positive_int(text: str) -> int:
    """Parse a whole number of at least 1, for argparse."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``demo`` from the command line."""
    parser = argparse.ArgumentParser(prog="python -m comms_portal.stack")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="start the whole portal on this machine")
    demo.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORTAL_PORT", "8000")),
        help="the portal's port (default: PORTAL_PORT, else 8000)",
    )
    demo.add_argument(
        "--sandbox-port", type=int, default=8400, help="sandbox http port (https: the next one)"
    )
    demo.add_argument("--seed", type=int, default=1, help="demo tenant seed")
    demo.add_argument("--users", type=_positive_int, default=60, help="people in the tenant")
    demo.add_argument(
        "--web-processes",
        type=_positive_int,
        default=1,
        help="ASGI server processes (uvicorn --workers)",
    )
    demo.add_argument(
        "--private-redis",
        action="store_true",
        help="start a private Redis even when REDIS_URL is set or 6379 answers",
    )
    # At real speed a 60-person tenant changes about twice a minute; five times faster keeps
    # the wall visibly alive while a day still lasts a couple of hours.
    demo.add_argument("--speed", type=float, default=5.0, help="presence simulator speed")
    args = parser.parse_args(argv)

    config = StackConfig(
        var_dir=Path(os.environ.get("PORTAL_VAR_DIR", PROJECT_DIR / "var")),
        web_port=args.port,
        sandbox_port=args.sandbox_port,
        seed=args.seed,
        users=args.users,
        simulation_speed=args.speed,
        web_processes=args.web_processes,
        private_redis=args.private_redis,
        database_url=os.environ.get("DATABASE_URL") or None,
        # DEBUG is off unless set. The demo turns it on: it serves plain http on loopback (so
        # its cookies cannot be https-only) and shows Django's error pages; its secrets are
        # the generated ones of var/local-secrets.json, never the public demo keys.
        extra_env={"DEBUG": os.environ.get("DEBUG") or "true"},
    )
    # From here on a stop signal is a request the startup waits and the loop answer.
    with StopSignals() as signals:
        supervisor = Supervisor(colour=sys.stdout.isatty(), signals=signals)
        stack = Stack(config=config, supervisor=supervisor)
        try:
            stack.start()
        except StopRequested:
            supervisor.say("stack", f"{signals.first_name()} received while starting; stopped")
            return 0
        except StackError as exc:
            supervisor.say("stack", f"could not start: {exc}")
            return 1
        print(_demo_banner(stack), flush=True)
        return stack.supervise()


if __name__ == "__main__":
    sys.exit(main())
