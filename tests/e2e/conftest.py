"""The whole portal running as in the demo, and a real browser to drive it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
from playwright.sync_api import Browser, Page, Route

from comms_portal.processes import free_port
from comms_portal.stack import Stack, StackConfig

REPO = Path(__file__).resolve().parents[2]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _fresh_postgres_database(base_url: str, name: str) -> str:
    """Create (or re-create) database ``name`` next to ``base_url``'s and return its URL."""
    parts = urlsplit(base_url)
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return parts._replace(path=f"/{name}").geturl()


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start the ASGI server, a Celery worker and beat on free ports, on the test sandbox."""
    var_dir = tmp_path_factory.mktemp("stack")
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        database_url = _fresh_postgres_database(database_url, "comms_portal_e2e")
    else:
        database_url = f"sqlite:///{var_dir / 'portal.sqlite3'}"
    # The stack gets a Redis database of its own, so its worker never takes tasks that
    # in-process tests enqueue against the test database.
    redis_url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/1"
    redis.Redis.from_url(redis_url).flushdb()
    stack = Stack(
        config=StackConfig(
            var_dir=var_dir,
            web_port=free_port(),
            sandbox_port=0,
            database_url=database_url,
            redis_url=redis_url,
            worker_concurrency=1,
            sandbox_info_file=Path(os.environ["SANDBOX_INFO_FILE"]),
        )
    )
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture
def directory_synced(live_stack: Stack) -> None:
    """Sync the stack's people directory from the sandbox tenant."""
    subprocess.run(
        [sys.executable, "manage.py", "sync_directory"],
        cwd=REPO,
        env=live_stack.env,
        check=True,
        capture_output=True,
        timeout=120,
    )


@dataclass
class PageWatch:
    """What a page did that a person would not want: errors and traffic leaving the machine."""

    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(browser: Browser, live_stack: Stack, watch: PageWatch) -> Iterator[Page]:
    """A fresh browser context on the portal that refuses and records non-loopback requests."""
    context = browser.new_context(base_url=live_stack.base_url)

    def only_loopback(route: Route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("data:", "blob:")) or host in LOOPBACK_HOSTS:
            route.continue_()
        else:
            watch.outside_requests.append(url)
            route.abort()

    context.route("**/*", only_loopback)
    new_page = context.new_page()
    new_page.on(
        "console",
        lambda message: (
            watch.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    new_page.on("pageerror", lambda error: watch.console_errors.append(str(error)))
    yield new_page
    context.close()
