"""The Graph request pipeline: faults, token, /me, routing, permissions, throttling, errors.

Every request under ``/v1.0`` and ``/beta`` (and every sub-request of a JSON batch) passes
through :func:`process`, which answers each failure with Graph's status and error body and puts
``request-id``, ``client-request-id`` and ``Date`` on every response.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from sandbox.graph.errors import (
    RequestIds,
    error_response,
    standard_headers,
    throttled_response,
)
from sandbox.graph.routing import (
    ROUTES,
    ApiVersion,
    GraphContext,
    GraphError,
    GraphRoute,
    Principal,
)
from sandbox.state import SandboxState
from sandbox.tokens import TokenRejected, verify_access_token

logger = logging.getLogger("sandbox.graph")

VERSIONS: tuple[ApiVersion, ...] = ("v1.0", "beta")


@dataclass(frozen=True)
class GraphCall:
    """The parts of a Graph request the pipeline works from."""

    method: str
    version: ApiVersion
    path: str  # decoded, relative to the version root, e.g. "/users/abc"
    ids: RequestIds


def split_path(raw_path: str) -> tuple[str, str]:
    """Split ``/v1.0/users/a%40b`` into the version and the decoded path below it."""
    _, _, rest = raw_path.partition("/")
    version, _, below = rest.partition("/")
    segments = [unquote(segment) for segment in below.split("/")] if below else []
    return version, "/" + "/".join(segments)


async def process(
    request: Request, state: SandboxState, *, outer_principal: Principal | None = None
) -> Response:
    """Answer one Graph request (or batch sub-request) as Graph would."""
    ids = RequestIds.for_request(request)
    raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    version, path = split_path(raw_path.split("?", 1)[0])
    try:
        response = await _process(request, state, version, path, ids, outer_principal)
    except GraphError as error:
        response = error_response(
            error.status, error.code, error.message, ids, state.clock.now(), headers=error.headers
        )
    except Exception:
        logger.exception("unhandled error in %s %s", request.method, raw_path)
        response = error_response(
            500, "generalException", "An unexpected error occurred.", ids, state.clock.now()
        )
    # A batch passes back only some of a sub-request's headers (``sandbox.graph.batch``), and
    # its own answer carries the ids and date: a sub-request gets only those it keeps.
    headers = (
        BATCHED_HEADERS if outer_principal is not None else standard_headers(ids, state.clock.now())
    )
    for name, value in headers.items():
        if name not in response.headers:
            response.headers[name] = value
    return response


# What of the standard headers a batch keeps for each sub-request's answer.
BATCHED_HEADERS = {"Cache-Control": "no-cache"}


# Where a request came in (scheme and host), kept in its scope: a batch's sub-requests copy
# their batch's scope, so it is worked out once a batch rather than parsed from each URL.
ORIGIN_KEY = "sandbox.origin"


def origin_of(request: Request) -> str:
    """Return ``scheme://host`` of the request (or of the batch it is part of)."""
    origin = request.scope.get(ORIGIN_KEY)
    if not isinstance(origin, str):
        origin = f"{request.url.scheme}://{request.url.netloc}"
        request.scope[ORIGIN_KEY] = origin
    return origin


async def _process(
    request: Request,
    state: SandboxState,
    version: str,
    path: str,
    ids: RequestIds,
    outer_principal: Principal | None,
) -> Response:
    if version not in VERSIONS:
        raise GraphError(400, "BadRequest", f"Invalid version: {version}")
    if "//" in path or path.endswith("//"):
        raise GraphError(400, "BadRequest", "Empty segments are not allowed in the request path.")
    faulted = await apply_fault(state, request.method, f"/{version}{path}", ids)
    if faulted is not None:
        return faulted
    principal = outer_principal or authenticate(request, state)
    graph_version: ApiVersion = "v1.0" if version == "v1.0" else "beta"
    base_url = f"{origin_of(request)}/{version}"
    if path.rstrip("/").lower() == "/$batch":
        # A top-level POST is served by ``sandbox.graph.batch``; anything else lands here.
        if outer_principal is not None:
            raise GraphError(400, "BadRequest", "A batch cannot contain another batch.")
        raise GraphError(405, "Request_BadRequest", "Only POST is allowed on the $batch endpoint.")
    path = rewrite_me(path, principal)
    route, params = resolve(request.method, graph_version, path)
    check_permission(route, principal)
    for bucket in ("global", *route.throttles):
        throttled = throttle_or_none(state, bucket, principal, ids)
        if throttled is not None:
            return throttled
    context = GraphContext(
        request=request,
        state=state,
        version=graph_version,
        principal=principal,
        path_params=params,
        base_url=base_url,
        in_batch=outer_principal is not None,
    )
    return await route.handler(context)


async def apply_fault(
    state: SandboxState, method: str, path: str, ids: RequestIds
) -> Response | None:
    """Apply the first injected fault matching ``path``: an error answer, or a hang first."""
    fault = state.faults.take(method, path)
    if fault is None:
        return None
    if fault.kind == "hang":
        await asyncio.sleep(fault.seconds)
        return None
    if fault.kind == "429":
        return throttled_response(fault.retry_after, ids, state.clock.now())
    status = int(fault.kind)
    code = "serviceNotAvailable" if status == 503 else "generalException"
    headers = {"Retry-After": f"{fault.retry_after:g}"} if status == 503 else {}
    message = "The service is temporarily failing; try again later."
    return error_response(status, code, message, ids, state.clock.now(), headers=headers)


def throttle_or_none(
    state: SandboxState, bucket: str, principal: Principal, ids: RequestIds
) -> Response | None:
    retry_after = state.throttle.take(
        bucket,
        app_id=principal.app_id,
        tenant_id=principal.tenant_id,
        now=state.clock.timestamp(),
    )
    if retry_after is None:
        return None
    return throttled_response(retry_after, ids, state.clock.now())


def authenticate(request: Request, state: SandboxState) -> Principal:
    """Return the caller of a request with a valid bearer token, else raise Graph's 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthenticated(state, "Access token is empty.")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated(state, "The Authorization header must use the Bearer scheme.")
    try:
        claims = verify_access_token(state, token.strip())
    except TokenRejected as rejected:
        raise _unauthenticated(state, f"Access token validation failure. {rejected}") from None
    app_id = str(claims.get("appid") or claims.get("azp") or "")
    if claims.get("idtyp") == "app" or "scp" not in claims:
        return Principal(
            kind="application",
            app_id=app_id,
            tenant_id=str(claims["tid"]),
            user_id=None,
            roles=frozenset(str(role) for role in claims.get("roles", [])),
            claims=claims,
        )
    user = state.tenant.directory_user(str(claims.get("oid", "")))
    if user is None or not user.account_enabled:
        raise _unauthenticated(state, "The signed-in user no longer exists or is disabled.")
    return Principal(
        kind="delegated",
        app_id=app_id,
        tenant_id=str(claims["tid"]),
        user_id=user.id,
        scopes=frozenset(str(claims.get("scp", "")).split()),
        claims=claims,
    )


def _unauthenticated(state: SandboxState, message: str) -> GraphError:
    authorize = f"{state.endpoints.http_base}/{state.tenant.tenant_id}/oauth2/v2.0/authorize"
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        headers={
            "WWW-Authenticate": (
                f'Bearer realm="", authorization_uri="{authorize}", '
                'client_id="00000003-0000-0000-c000-000000000000"'
            )
        },
    )


def rewrite_me(path: str, principal: Principal) -> str:
    """Turn ``/me/...`` into ``/users/{oid}/...``; app-only tokens get Graph's 400."""
    segments = path.split("/")
    if len(segments) < 2 or segments[1].lower() != "me":
        return path
    if principal.kind != "delegated" or principal.user_id is None:
        raise GraphError(
            400, "BadRequest", "/me request is only valid with delegated authentication flow."
        )
    return "/".join(["", "users", principal.user_id, *segments[2:]])


def _literal_length(route: GraphRoute) -> int:
    depth = route.template.count("/")
    literal = len(route.template) - sum(len(p) for p in route.template.split("{")[1:])
    return depth * 1000 + literal


def _depth(path: str) -> int:
    return path.strip("/").count("/") + 1


_BY_DEPTH: dict[int, list[GraphRoute]] = {}
_INDEXED = [0]  # how many routes _BY_DEPTH holds


def _routes_of_depth(path: str) -> list[GraphRoute]:
    """Return the routes whose template has as many segments as ``path``.

    A template's parameter never spans a slash, so no other route can match; trying only
    these spares a hundred regular expressions per request (a batch runs twenty).
    """
    if _INDEXED[0] != len(ROUTES):
        _BY_DEPTH.clear()
        for route in ROUTES:
            _BY_DEPTH.setdefault(_depth(route.template), []).append(route)
        _INDEXED[0] = len(ROUTES)
    return _BY_DEPTH.get(_depth(path), [])


def resolve(method: str, version: ApiVersion, path: str) -> tuple[GraphRoute, dict[str, str]]:
    """Find the route for ``method`` + ``path``; raise Graph's 400/405 when there is none."""
    candidates: list[tuple[GraphRoute, dict[str, str]]] = []
    path_known = False
    for route in _routes_of_depth(path):
        if version not in route.versions:
            continue
        match = route.pattern.match(path)
        if match is None:
            continue
        path_known = True
        if route.method == method.upper():
            candidates.append((route, match.groupdict()))
    if candidates:
        # A literal segment (``/users/delta``) wins over a parameter (``/users/{id}``).
        return max(candidates, key=lambda candidate: _literal_length(candidate[0]))
    if path_known:
        raise GraphError(
            405,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        )
    raise GraphError(
        400, "BadRequest", f"Resource not found for the segment '{unknown_segment(version, path)}'."
    )


def unknown_segment(version: ApiVersion, path: str) -> str:
    """Return the first segment of ``path`` that no route template knows at its position."""
    segments = [segment for segment in path.split("/") if segment]
    for depth in range(1, len(segments) + 1):
        prefix = segments[:depth]
        if not any(_template_prefix_matches(route, prefix, version) for route in ROUTES):
            return segments[depth - 1]
    return segments[-1] if segments else ""


def _template_prefix_matches(route: GraphRoute, prefix: list[str], version: ApiVersion) -> bool:
    if version not in route.versions:
        return False
    parts = [part for part in route.template.split("/") if part]
    if len(parts) < len(prefix):
        return False
    return all(
        part.startswith("{") or part.lower() == segment.lower()
        for part, segment in zip(parts, prefix, strict=False)
    )


def check_permission(route: GraphRoute, principal: Principal) -> None:
    """Raise Graph's 403 unless the token carries one of the route's documented permissions."""
    allowed = route.delegated if principal.kind == "delegated" else route.application
    if "*" in allowed:  # the handler checks permissions per resource (subscriptions)
        return
    granted = {permission.lower() for permission in principal.permissions}
    if not any(permission.lower() in granted for permission in allowed):
        raise GraphError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )
