"""The control API under ``/_sandbox/``: clock, faults, throttling, tokens, directory, app roles.

Only loopback clients may call it, and only by a loopback name with the port they reached: a
web page elsewhere could otherwise drive it from a browser on the same machine (through DNS
rebinding, or plain cross-site requests), so a request whose ``Host`` is another name, or that
carries an ``Origin`` other than the sandbox's own, is refused. Scripts and tests send no
``Origin``. Other areas add their endpoints with :func:`add_control_route` before the app is
built.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from sandbox.graph.directory_subscriptions import publish_user_change
from sandbox.graph.faults import FAULT_KINDS
from sandbox.graph.throttle import Limit
from sandbox.info import build_info
from sandbox.state import state_of

Endpoint = Callable[[Request], Awaitable[Response]]
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_CONTROL_ROUTES: list[Route] = []


class ControlError(Exception):
    """A bad control request; answered with 400 and the message."""


def add_control_route(path: str, endpoint: Endpoint, methods: list[str]) -> None:
    """Register ``endpoint`` at ``/_sandbox{path}`` (loopback-only, JSON errors)."""
    _CONTROL_ROUTES.append(Route(path, _guarded(endpoint), methods=methods))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_loopback_name(name: str) -> bool:
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _split_authority(authority: str, scheme: str) -> tuple[str, int] | None:
    """Split ``host[:port]`` (``[::1]:8400`` for IPv6) into a name and a port, else None."""
    try:
        parts = urlsplit(f"{scheme}://{authority}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username or parts.password or parts.path:
        return None
    return parts.hostname, port if port is not None else _DEFAULT_PORTS[scheme]


def _own_port(request: Request) -> int | None:
    server = request.scope.get("server")
    return int(server[1]) if server and server[1] is not None else None


def refusal(request: Request) -> str | None:
    """Say why a control request must be refused, or return None when it may go on."""
    client = request.client.host if request.client else ""
    if client not in LOOPBACK:
        return "The control API answers loopback clients only."
    scheme, own_port = request.url.scheme, _own_port(request)
    host = _split_authority(request.headers.get("host", ""), scheme)
    if host is None or not _is_loopback_name(host[0]) or host[1] != own_port:
        return (
            f"The control API answers only requests addressed to a loopback name with port "
            f"{own_port} (such as 127.0.0.1:{own_port}); the Host header says "
            f"{request.headers.get('host', '')!r}."
        )
    origin = request.headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        theirs = _split_authority(parts.netloc, parts.scheme) if parts.scheme == scheme else None
        if theirs is None or not _is_loopback_name(theirs[0]) or theirs[1] != own_port:
            return (
                f"The control API refuses requests from web pages of another origin "
                f"({origin!r}); only {scheme}://127.0.0.1:{own_port} itself may send one."
            )
    return None


def _guarded(endpoint: Endpoint) -> Endpoint:
    async def guarded(request: Request) -> Response:
        refused = refusal(request)
        if refused is not None:
            return JSONResponse({"error": refused}, 403)
        try:
            return await endpoint(request)
        except ControlError as error:
            return JSONResponse({"error": str(error)}, 400)

    return guarded


async def json_object(request: Request) -> dict[str, Any]:
    """Return the JSON object in the body, or raise ControlError."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise ControlError(f"The body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ControlError("The body must be a JSON object.")
    return body


def _number(body: dict[str, Any], name: str, default: float | None = None) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ControlError(f"'{name}' must be a number.")
    return float(value)


async def info(request: Request) -> Response:
    """Return the info document."""
    return JSONResponse(build_info(state_of(request)))


async def clock(request: Request) -> Response:
    """Read the clock, advance it (``advance_seconds``), change its ``speed``, or ``reset`` it."""
    state = state_of(request)
    if request.method == "POST":
        body = await json_object(request)
        if not {"advance_seconds", "speed", "reset"} & body.keys():
            raise ControlError("Send 'advance_seconds', 'speed' and/or 'reset'.")
        try:
            if body.get("reset") is True:
                state.clock.reset()
            if "advance_seconds" in body:
                state.clock.advance(_number(body, "advance_seconds"))
            if "speed" in body:
                state.clock.set_speed(_number(body, "speed"))
        except ValueError as error:
            raise ControlError(str(error)) from error
    return JSONResponse(
        {
            "now": state.clock.now().isoformat().replace("+00:00", "Z"),
            "timestamp": state.clock.timestamp(),
            "speed": state.clock.speed,
        }
    )


async def faults(request: Request) -> Response:
    """List, add (``path``/``path_regex``, ``kind``, ``count``...) or clear injected faults."""
    state = state_of(request)
    if request.method == "DELETE":
        state.faults.clear()
    elif request.method == "POST":
        body = await json_object(request)
        kind = str(body.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise ControlError(f"'kind' must be one of {', '.join(FAULT_KINDS)}.")
        pattern = body.get("path_regex") or body.get("path")
        if not isinstance(pattern, str) or not pattern:
            raise ControlError("Send 'path' (a glob) or 'path_regex'.")
        count = int(_number(body, "count", 1))
        if count < 1:
            raise ControlError("'count' must be at least 1.")
        try:
            fault = state.faults.add(
                pattern=pattern,
                is_regex="path_regex" in body,
                kind=kind,  # type: ignore[arg-type]
                count=count,
                retry_after=_number(body, "retry_after", 1),
                seconds=_number(body, "seconds", 30),
                method=body.get("method"),
            )
        except re.error as error:
            raise ControlError(
                f"'path_regex' is not a valid regular expression: {error}"
            ) from error
        return JSONResponse(fault.to_json(), 201)
    return JSONResponse({"faults": [fault.to_json() for fault in state.faults.faults]})


async def throttling(request: Request) -> Response:
    """Show the limit table, change one bucket, or restore the documented limits."""
    state = state_of(request)
    if request.method == "DELETE":
        state.throttle.reset()
    elif request.method == "POST":
        body = await json_object(request)
        bucket = body.get("bucket")
        if not isinstance(bucket, str) or not bucket:
            raise ControlError("Send 'bucket', 'requests' and 'window_seconds'.")
        requests = int(_number(body, "requests"))
        window = _number(body, "window_seconds")
        if requests < 1 or window <= 0:
            raise ControlError("'requests' must be >= 1 and 'window_seconds' > 0.")
        per_tenant = bool(body.get("per_tenant", True))
        state.throttle.configure(bucket, Limit(requests, window, per_tenant))
    return JSONResponse({"limits": state.throttle.describe()})


async def revoke_tokens(request: Request) -> Response:
    """Revoke one person's refresh tokens and sign-in sessions."""
    state = state_of(request)
    body = await json_object(request)
    user = state.tenant.find_user(str(body.get("user_id", "")))
    if user is None:
        raise ControlError("Send the 'user_id' of an existing user.")
    with state.lock:
        revoked = state.tokens.revoke_user(user.id)
    return JSONResponse({"user_id": user.id, "revoked_refresh_tokens": revoked})


# Graph property -> User attribute, for directory changes through the control API.
_EDITABLE: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "displayName": ("display_name", str),
    "givenName": ("given_name", str),
    "surname": ("surname", str),
    "jobTitle": ("job_title", str),
    "department": ("department", str),
    "officeLocation": ("office_location", str),
    "mobilePhone": ("mobile_phone", str),
    "accountEnabled": ("account_enabled", bool),
    "businessPhones": ("business_phones", list),
    "manager_id": ("manager_id", str),
}


async def change_user(request: Request) -> Response:
    """Change directory fields of a user (POST) or delete the user (DELETE); delta sees both."""
    state = state_of(request)
    user = state.tenant.directory_user(request.path_params["user_id"])
    if user is None:
        return JSONResponse({"error": "No such user."}, 404)
    if request.method == "DELETE":
        with state.lock:
            user.deleted = True
            state.tenant.record_change(user)
            publish_user_change(state, user, "deleted")
        return Response(status_code=204)
    body = await json_object(request)
    unknown = sorted(set(body) - set(_EDITABLE))
    if unknown or not body:
        raise ControlError(f"Editable fields are {', '.join(_EDITABLE)}; got {unknown or 'none'}.")
    for name, value in body.items():
        _attribute, kind = _EDITABLE[name]
        if value is not None and not isinstance(value, kind):
            raise ControlError(f"'{name}' has the wrong JSON type.")
    with state.lock:
        for name, value in body.items():
            setattr(user, _EDITABLE[name][0], value)
        state.tenant.record_change(user)
        publish_user_change(state, user, "updated")
    return JSONResponse(user.to_graph())


async def app_roles(request: Request) -> Response:
    """Read or replace a user's app-role assignments, as an admin does in Enterprise apps."""
    state = state_of(request)
    user = state.tenant.find_user(request.path_params["user_id"])
    if user is None:
        return JSONResponse({"error": "No such user."}, 404)
    if request.method == "POST":
        body = await json_object(request)
        roles = body.get("roles")
        if (
            set(body) != {"roles"}
            or not isinstance(roles, list)
            or not all(isinstance(role, str) for role in roles)
        ):
            raise ControlError('Send {"roles": [...]}: the app role names, such as "Portal.Admin".')
        defined = {role for app in state.tenant.apps.values() for role in app.app_roles}
        undefined = sorted(set(roles) - defined)
        if undefined:
            raise ControlError(
                f"No app defines the roles {', '.join(undefined)}; "
                f"defined are {', '.join(sorted(defined)) or 'none'}."
            )
        with state.lock:
            # Tokens already issued keep their roles; the next id_token carries these.
            user.roles = tuple(dict.fromkeys(roles))
    return JSONResponse({"user_id": user.id, "roles": list(user.roles)})


async def settings(request: Request) -> Response:
    """Read or change runtime settings (``access_token_lifetime`` in seconds)."""
    state = state_of(request)
    if request.method == "POST":
        body = await json_object(request)
        if set(body) - {"access_token_lifetime"}:
            raise ControlError("Only 'access_token_lifetime' can be changed.")
        if "access_token_lifetime" in body:
            lifetime = int(_number(body, "access_token_lifetime"))
            if not 60 <= lifetime <= 86_400:
                raise ControlError("'access_token_lifetime' must be between 60 and 86400.")
            state.access_token_lifetime = lifetime
    return JSONResponse({"access_token_lifetime": state.access_token_lifetime})


async def withdraw_consent(request: Request) -> Response:
    """Forget what one person consented to, for every app, as if they withdrew it."""
    state = state_of(request)
    body = await json_object(request)
    user = state.tenant.find_user(str(body.get("user_id", "")))
    if user is None:
        raise ControlError("Send the 'user_id' of an existing user.")
    with state.lock:
        withdrawn = [key for key in state.tokens.consents if key[0] == user.id]
        for key in withdrawn:
            del state.tokens.consents[key]
    return JSONResponse({"user_id": user.id, "withdrawn_from_apps": [key[1] for key in withdrawn]})


add_control_route("/info", info, ["GET"])
add_control_route("/clock", clock, ["GET", "POST"])
add_control_route("/faults", faults, ["GET", "POST", "DELETE"])
add_control_route("/throttling", throttling, ["GET", "POST", "DELETE"])
add_control_route("/tokens/revoke", revoke_tokens, ["POST"])
add_control_route("/consents/withdraw", withdraw_consent, ["POST"])
add_control_route("/users/{user_id}", change_user, ["POST", "DELETE"])
add_control_route("/users/{user_id}/app-roles", app_roles, ["GET", "POST"])
add_control_route("/settings", settings, ["GET", "POST"])


def control_mount() -> BaseRoute:
    """Return the mount holding every registered control route."""
    return Mount("/_sandbox", routes=list(_CONTROL_ROUTES))
