"""How a Graph resource module declares its endpoints.

Each endpoint is a plain async function taking a :class:`GraphContext`, registered with
:func:`graph_route` together with the permissions Graph's documentation lists for it. The
pipeline (``sandbox.graph.pipeline``) checks the bearer token, the permissions and the
throttling budget before the handler runs, and renders :class:`GraphError` as Graph's error
body. Handlers therefore only implement the resource's behaviour.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from sandbox.state import SandboxState

ApiVersion = Literal["v1.0", "beta"]
PrincipalKind = Literal["delegated", "application"]


class GraphError(Exception):
    """An error answered with Graph's error body (code, message, innerError)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class Principal:
    """Who is calling, taken from a verified access token."""

    kind: PrincipalKind
    app_id: str
    tenant_id: str
    user_id: str | None  # the signed-in person's object id; None for app-only tokens
    scopes: frozenset[str] = frozenset()  # ``scp`` of a delegated token
    roles: frozenset[str] = frozenset()  # ``roles`` of an application token
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def permissions(self) -> frozenset[str]:
        return self.scopes if self.kind == "delegated" else self.roles


@dataclass
class GraphContext:
    """Everything a handler needs about one Graph request."""

    request: Request
    state: SandboxState
    version: ApiVersion
    principal: Principal
    path_params: dict[str, str]
    # The absolute base of this API version as the client reached it, e.g.
    # ``https://127.0.0.1:8401/v1.0``; used for ``@odata.nextLink`` and ``@odata.context``.
    base_url: str
    # Set by the pipeline for sub-requests of a JSON batch.
    in_batch: bool = False
    _body: Any = None
    _body_read: bool = False

    async def json_body(self) -> dict[str, Any]:
        """Return the JSON object in the body, or raise Graph's 400 for anything else."""
        if not self._body_read:
            self._body = await _read_json_object(self.request)
            self._body_read = True
        assert isinstance(self._body, dict)
        return self._body


async def _read_json_object(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise GraphError(
            415, "UnsupportedMediaType", "The request body must be sent as application/json."
        )
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphError(400, "BadRequest", f"Invalid JSON in the request body: {exc}") from exc
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "The request body must be a JSON object.")
    return body


Handler = Callable[[GraphContext], Awaitable[Response]]


@dataclass(frozen=True)
class GraphRoute:
    """One registered endpoint."""

    method: str
    template: str  # e.g. "/users/{user_id}/presence", relative to the version root
    handler: Handler
    delegated: tuple[str, ...]  # delegated permissions that grant access; () = not supported
    application: tuple[str, ...]  # application permissions that grant access; () = not supported
    # The throttling buckets the request counts against (see ``sandbox.graph.throttle``),
    # besides the global one; a request is refused as soon as one of them is spent.
    throttles: tuple[str, ...]
    versions: tuple[ApiVersion, ...]
    pattern: re.Pattern[str]


ROUTES: list[GraphRoute] = []

_PARAM = re.compile(r"\{(\w+)\}")


def compile_template(template: str) -> re.Pattern[str]:
    """Turn ``/users/{user_id}/presence`` into a case-insensitive regular expression."""
    parts = []
    last = 0
    for match in _PARAM.finditer(template):
        parts.append(re.escape(template[last : match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^/]+)")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("^" + "".join(parts) + "/?$", re.IGNORECASE)


def graph_route(
    method: str,
    template: str,
    *,
    delegated: tuple[str, ...],
    application: tuple[str, ...],
    throttle: str | tuple[str, ...] = "default",
    versions: tuple[ApiVersion, ...] = ("v1.0", "beta"),
) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``method`` on ``template`` with its documented permissions.

    ``throttle`` names the bucket the request counts against, or several when more than one
    of Graph's limits applies to it (any verb, and writes only).
    """
    throttles = (throttle,) if isinstance(throttle, str) else throttle

    def register(handler: Handler) -> Handler:
        ROUTES.append(
            GraphRoute(
                method=method.upper(),
                template=template,
                handler=handler,
                delegated=delegated,
                application=application,
                throttles=throttles,
                versions=versions,
                pattern=compile_template(template),
            )
        )
        return handler

    return register
