"""What every presence endpoint shares: permissions, the target person, the action body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sandbox.graph.routing import GraphContext, GraphError
from sandbox.presence.model import PersonPresence
from sandbox.presence.service import PresenceArea, presence_of
from sandbox.presence.values import InvalidValue
from sandbox.tenant import User

# https://learn.microsoft.com/graph/api/presence-get
READ_DELEGATED = ("Presence.Read", "Presence.Read.All")
READ_APPLICATION = ("Presence.Read.All", "Presence.ReadWrite.All")
# https://learn.microsoft.com/graph/api/cloudcommunications-getpresencesbyuserid
READ_MANY_DELEGATED = ("Presence.Read.All",)
# https://learn.microsoft.com/graph/api/presence-setpresence and the other presence actions
WRITE_DELEGATED = ("Presence.ReadWrite",)
WRITE_APPLICATION = ("Presence.ReadWrite.All",)
# Both paths Graph serves a person's presence on; actions work below either.
PRESENCE_PATHS = ("/users/{user_id}/presence", "/communications/presences/{user_id}")
THROTTLE = "presence"
Parsed = TypeVar("Parsed")


def bad_request(message: str) -> GraphError:
    """Return Graph's 400 with ``message``."""
    return GraphError(400, "BadRequest", message)


def area_of(ctx: GraphContext) -> PresenceArea:
    """Return the presence area, with every timer that fell due already applied."""
    area = presence_of(ctx.state)
    area.store.process_due(area.now())
    return area


def target(ctx: GraphContext, area: PresenceArea, *, write: bool) -> tuple[User, PersonPresence]:
    """Return the person named in the path, refusing what the token may not touch."""
    key = ctx.path_params["user_id"]
    user = ctx.state.tenant.directory_user(key)
    person = area.store.get(user.id) if user is not None else None
    if user is None or person is None:
        raise GraphError(404, "NotFound", f"The user '{key}' was not found.")
    principal = ctx.principal
    if principal.kind == "delegated" and user.id != principal.user_id:
        granted = {permission.lower() for permission in principal.permissions}
        if write:
            # Delegated Presence.ReadWrite covers the signed-in person only.
            raise GraphError(403, "Forbidden", "Cannot set the presence of another user.")
        if "presence.read.all" not in granted:
            raise GraphError(
                403,
                "Forbidden",
                "Reading another user's presence needs the Presence.Read.All permission.",
            )
    return user, person


def is_owner(ctx: GraphContext, user: User) -> bool:
    """Tell whether the caller is the person themself (who sees owner-only details)."""
    return ctx.principal.kind == "delegated" and ctx.principal.user_id == user.id


async def action_body(
    ctx: GraphContext, action: str, allowed: frozenset[str], *, may_be_empty: bool = False
) -> dict[str, Any]:
    """Return the action's JSON parameters, refusing unknown ones as Graph's OData layer does."""
    if may_be_empty and not (await ctx.request.body()).strip():
        return {}
    body = await ctx.json_body()
    for name in body:
        if name not in allowed:
            raise bad_request(
                f"The parameter '{name}' in the request payload is not a valid parameter for "
                f"the operation '{action}'."
            )
    return body


def required(body: dict[str, Any], name: str) -> Any:
    """Return a required parameter, or raise Graph's 400 naming it."""
    value = body.get(name)
    if value is None:
        raise bad_request(f"The '{name}' parameter is required.")
    return value


def checked(parse: Callable[..., Parsed], *args: Any) -> Parsed:
    """Run a value parser and turn its complaint into Graph's 400."""
    try:
        return parse(*args)
    except InvalidValue as exc:
        raise bad_request(str(exc)) from exc
