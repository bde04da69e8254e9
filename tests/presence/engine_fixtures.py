"""Fixtures of the presence engine's tests: private sandboxes, signed-in people, captured tasks.

Test modules import the fixtures they use by name.
"""

from __future__ import annotations

import json
import shutil
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from celery.signals import after_task_publish
from django.conf import settings
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.identity import forget_cached_metadata
from accounts.models import User
from comms_portal.notifications import inbox
from comms_portal.redis_client import get_redis
from presence import ratelimit, store, watchlist
from tests.support.cast import DEMO_PASSWORD
from tests.support.entra_signin import sign_in
from tests.support.sandbox import RunningSandbox, start_sandbox

KEY_FILES = ("tls-cert.pem", "tls-key.pem", "signing-key.pem")


def session_sandbox_info() -> dict[str, Any]:
    """Return the info document of the session's sandbox."""
    info: dict[str, Any] = json.loads(Path(settings.SANDBOX_INFO_FILE).read_text())
    return info


def user_id_of(info: dict[str, Any], upn: str) -> str:
    """Return the Graph id of the person ``upn`` in a sandbox's info document."""
    return str(next(u["id"] for u in info["users"] if u["userPrincipalName"] == upn))


def start_private_sandbox(state_dir: Path, *, users: int = 60) -> RunningSandbox:
    """Start a sandbox of the same tenant (seed 1) that shares the session's keys and CA."""
    session_state = Path(session_sandbox_info()["ca_bundle"]).parent
    state_dir.mkdir(parents=True, exist_ok=True)
    for name in KEY_FILES:
        shutil.copy(session_state / name, state_dir / name)
    return start_sandbox(state_dir, users=users)


def point_settings_at(settings: SettingsWrapper, sandbox: RunningSandbox) -> None:
    """Make the portal talk to ``sandbox`` for the rest of the test."""
    settings.MICROSOFT_AUTHORITY = sandbox.info["authority"]
    settings.GRAPH_BASE_URL = sandbox.info["graph_base_url"]
    settings.GRAPH_BETA_BASE_URL = sandbox.info["beta_base_url"]
    # The tenant's size shifts the seeded ids of the app registration.
    portal = sandbox.app("Comms Portal")
    settings.MICROSOFT_CLIENT_ID = portal["client_id"]
    settings.MICROSOFT_CLIENT_SECRET = portal["client_secret"]
    forget_cached_metadata()


class Control:
    """The control API of a sandbox, by its base URL."""

    def __init__(self, control_url: str) -> None:
        self.http = httpx.Client(base_url=control_url, timeout=15.0, trust_env=False)

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, path, json=body)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def session_control() -> Iterator[Control]:
    """The session sandbox's control API."""
    control = Control(session_sandbox_info()["control_url"])
    yield control
    control.close()


def sign_in_person(upn: str) -> User:
    """Sign ``upn`` in through the portal's real sign-in views and the sandbox's pages."""
    browser = Client()
    started = browser.get("/accounts/signin/", {"login_hint": upn})
    assert started.status_code == 302, started.content
    redirect_uri = f"{settings.PUBLIC_BASE_URL}/accounts/callback"
    trust = ssl.create_default_context(cafile=settings.GRAPH_CA_BUNDLE)
    with httpx.Client(verify=trust, trust_env=False) as pages:
        answer = sign_in(
            pages, started["Location"], redirect_uri, username=upn, password=DEMO_PASSWORD
        )
    finished = browser.post("/accounts/callback", answer)
    assert finished.status_code == 302, finished.content
    return User.objects.get(email__iexact=upn)


@pytest.fixture
def clean_presence() -> Iterator[None]:
    """Start and end with no watched people, no poll hold, a full budget and no stored state."""

    def wipe() -> None:
        watched = watchlist.watched_ids()
        watchlist.forget_watched(watched)
        store.forget(watched)
        redis = get_redis()
        redis.delete(ratelimit.BUCKET_KEY, ratelimit.BACKOFF_KEY)
        keys = list(redis.scan_iter(match=f"{store.KEY_PREFIX}*", count=1000))
        if keys:
            redis.delete(*keys)
        redis.delete("portal:presence:coverage-requested")
        # The pipeline's inbox, drains, caches and blocked owners.
        for key in redis.scan_iter(match="portal:notifications:*", count=1000):
            redis.delete(key)

    wipe()
    yield
    wipe()


@pytest.fixture
def enqueued() -> Iterator[list[tuple[str, list[Any]]]]:
    """Record every Celery task published during the test as (task name, args)."""
    captured: list[tuple[str, list[Any]]] = []

    def record(sender: Any = None, headers: Any = None, body: Any = None, **_: Any) -> None:
        args = body[0] if isinstance(body, list | tuple) and body else []
        captured.append((str((headers or {}).get("task", sender)), list(args)))

    after_task_publish.connect(record, weak=False)
    yield captured
    after_task_publish.disconnect(record)


def wait_for(
    condition: Callable[[], Any], *, timeout: float = 15.0, what: str = "the condition"
) -> Any:
    """Return the first truthy value of ``condition()``, polling until ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def delivered_bodies() -> list[str]:
    """Return the change-notification bodies the webhook queued for the worker, oldest first."""
    return inbox.bodies_waiting()


def bodies_of(captured: list[tuple[str, list[Any]]], task: str) -> list[str]:
    """Return the body argument of every captured ``task``."""
    return [str(args[0]) for name, args in captured if name == task and args]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A private sandbox per test module: these tests move its clock and hold subscriptions."""
    running = start_private_sandbox(Path(tmp_path_factory.mktemp("private-sandbox")))
    yield running
    running.stop()


@pytest.fixture
def control(sandbox: RunningSandbox) -> Iterator[Control]:
    """The private sandbox's control API, with presence paused and deliveries flowing."""
    client = Control(sandbox.info["control_url"])
    client("DELETE", "/delivery-faults")
    client("POST", "/presence/pause", {})
    yield client
    # Deliveries still queued would reach a portal that no longer listens.
    client("POST", "/delivery-faults", {"kind": "drop", "count": 10_000})
    for item in client("GET", "/subscriptions")["value"]:
        client("DELETE", f"/subscriptions/{item['id']}")
    client.close()
