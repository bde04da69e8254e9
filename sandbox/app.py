"""The sandbox's Starlette app: identity, Graph, control API, and startup/shutdown hooks."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.admin_consent import admin_consent_routes
from sandbox.calls.platform import platform_routes
from sandbox.control import control_mount
from sandbox.discovery import discovery_routes
from sandbox.graph.batch import batch_endpoint
from sandbox.graph.pipeline import process
from sandbox.identity import identity_routes
from sandbox.state import SandboxState, state_of
from sandbox.token_endpoint import token_routes

# The Graph resource modules; importing one registers its routes. Adding an area is one line.
RESOURCE_MODULES: list[str] = [
    "sandbox.graph.directory",
    "sandbox.graph.subscriptions",
    "sandbox.graph.directory_subscriptions",
    "sandbox.notifications.control",
    "sandbox.presence.routes",
    "sandbox.calls.routes",
    "sandbox.virtual_events.routes",
    "sandbox.meetings.routes",
    "sandbox.callrecords.routes",
]

Hook = Callable[[SandboxState], Awaitable[None]]
_STARTUP_HOOKS: list[Hook] = []
_SHUTDOWN_HOOKS: list[Hook] = []
GRAPH_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

logger = logging.getLogger("sandbox.requests")


def on_startup(hook: Hook) -> Hook:
    """Run ``hook(state)`` once when the sandbox starts (e.g. to launch a background worker)."""
    _STARTUP_HOOKS.append(hook)
    return hook


def on_shutdown(hook: Hook) -> Hook:
    """Run ``hook(state)`` once when the sandbox stops."""
    _SHUTDOWN_HOOKS.append(hook)
    return hook


async def graph_endpoint(request: Request) -> Response:
    """Hand a /v1.0 or /beta request to the Graph pipeline."""
    return await process(request, state_of(request))


class RequestLog:
    """Log one line per request: method, path, status and milliseconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            logger.info("%s %s %s %.1fms", scope["method"], scope["path"], status, elapsed)


def create_app(state: SandboxState) -> Starlette:
    """Build the app serving ``state`` on every listener."""
    for module in RESOURCE_MODULES:
        importlib.import_module(module)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for hook in _STARTUP_HOOKS:
            await hook(state)
        try:
            yield
        finally:
            for hook in reversed(_SHUTDOWN_HOOKS):
                await hook(state)

    routes: list[BaseRoute] = [control_mount()]
    for version in ("v1.0", "beta"):
        routes.append(Route(f"/{version}/$batch", batch_endpoint, methods=["POST"]))
        routes.append(Route(f"/{version}/{{path:path}}", graph_endpoint, methods=GRAPH_METHODS))
    routes.extend(discovery_routes())
    routes.extend(platform_routes())
    routes.extend(identity_routes())
    routes.extend(admin_consent_routes())
    routes.extend(token_routes())
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sandbox = state
    app.add_middleware(RequestLog)
    return app
