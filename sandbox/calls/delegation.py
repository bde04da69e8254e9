"""Call delegation (beta): whom a person lets take their calls, and for whom they take them.

https://learn.microsoft.com/graph/api/callsettings-list-delegates?view=graph-rest-beta and
callsettings-list-delegators: delegated ``CallDelegation.Read`` (or ``ReadWrite``) only;
application permissions are not supported. Graph has no write API (Teams keeps the list), so
the sandbox seeds a few and the control API changes them.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.calls.area import calls_of
from sandbox.graph.errors import graph_json
from sandbox.graph.routing import GraphContext, GraphError, graph_route

READ = ("CallDelegation.Read", "CallDelegation.ReadWrite")


def _person(ctx: GraphContext) -> str:
    user = ctx.state.tenant.directory_user(ctx.path_params["user_id"])
    if user is None:
        raise GraphError(404, "NotFound", "The user was not found.")
    if ctx.principal.user_id != user.id:
        raise GraphError(403, "Forbidden", "Only the person themself may read their delegation.")
    return user.id


def _delegators_of(
    delegates: dict[str, list[dict[str, Any]]], user_id: str
) -> list[dict[str, Any]]:
    found = []
    for delegator, settings in delegates.items():
        for one in settings:
            if one["id"] == user_id:
                found.append({**one, "id": delegator})
    return found


def _filtered(ctx: GraphContext, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = ctx.request.query_params.get("$filter") or ctx.request.query_params.get("filter")
    if not wanted:
        return items
    if wanted.replace(" ", "").lower() == "allowedactions/receivecallseqtrue":
        return [one for one in items if one["allowedActions"].get("receiveCalls")]
    raise GraphError(400, "BadRequest", f"Unsupported filter: {wanted}")


# https://learn.microsoft.com/graph/api/callsettings-list-delegates?view=graph-rest-beta
@graph_route(
    "GET",
    "/users/{user_id}/communications/callSettings/delegates",
    delegated=READ,
    application=(),
    versions=("beta",),
)
async def list_delegates(ctx: GraphContext) -> Response:
    """Return whom the person lets take their calls."""
    with ctx.state.lock:
        user_id = _person(ctx)
        items = list(calls_of(ctx.state).delegates.get(user_id, []))
    return graph_json({"value": _filtered(ctx, items)})


# https://learn.microsoft.com/graph/api/callsettings-list-delegators?view=graph-rest-beta
@graph_route(
    "GET",
    "/users/{user_id}/communications/callSettings/delegators",
    delegated=READ,
    application=(),
    versions=("beta",),
)
async def list_delegators(ctx: GraphContext) -> Response:
    """Return whose calls the person may take."""
    with ctx.state.lock:
        user_id = _person(ctx)
        items = _delegators_of(calls_of(ctx.state).delegates, user_id)
    return graph_json({"value": _filtered(ctx, items)})
