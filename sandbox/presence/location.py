"""Work location: setManualLocation, setAutomaticLocation, clearAutomaticLocation, clearLocation.

https://learn.microsoft.com/graph/api/resources/userworklocation
Manual beats automatic; both signals hold for the current day (``clearLocation`` speaks of
"the current date"), which the sandbox takes as the UTC day. Delegated ``Presence.ReadWrite``
only; application permissions are not supported. The pages' prose says 200 but their
response examples show ``204 No Content``, which is what the sandbox answers.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from sandbox.graph.errors import no_content
from sandbox.graph.routing import GraphContext, graph_route
from sandbox.presence.access import (
    THROTTLE,
    WRITE_DELEGATED,
    action_body,
    area_of,
    bad_request,
    checked,
    required,
    target,
)
from sandbox.presence.model import LocationSignal, PersonPresence, end_of_day
from sandbox.presence.values import canonical_work_location_type

LOCATION_PARAMETERS = frozenset({"workLocationType", "placeId"})
Mutation = Callable[[PersonPresence], None]


async def _change(ctx: GraphContext, mutation_for: Callable[[float], Mutation]) -> Response:
    with ctx.state.lock:
        area = area_of(ctx)
        user, _ = target(ctx, area, write=True)
        now = area.now()
        area.store.change(user.id, now, mutation_for(now))
    return no_content()


async def _signal(ctx: GraphContext, action: str) -> tuple[str, str | None]:
    body = await action_body(ctx, action, LOCATION_PARAMETERS)
    location_type = checked(canonical_work_location_type, required(body, "workLocationType"))
    place_id = body.get("placeId")
    if place_id is not None and not isinstance(place_id, str):
        raise bad_request("'placeId' must be a string.")
    return location_type, place_id or None


# https://learn.microsoft.com/graph/api/presence-setmanuallocation
async def set_manual_location(ctx: GraphContext) -> Response:
    """Set the manual layer, which overrides the automatic one for the rest of the day."""
    location_type, place_id = await _signal(ctx, "setManualLocation")

    def mutation(now: float) -> Mutation:
        def mutate(person: PersonPresence) -> None:
            person.manual_location = LocationSignal(location_type, place_id, end_of_day(now))

        return mutate

    return await _change(ctx, mutation)


# https://learn.microsoft.com/graph/api/presence-setautomaticlocation
async def set_automatic_location(ctx: GraphContext) -> Response:
    """Set the automatic layer; a manual location still wins while it lasts."""
    location_type, place_id = await _signal(ctx, "setAutomaticLocation")

    def mutation(now: float) -> Mutation:
        def mutate(person: PersonPresence) -> None:
            person.automatic_location = LocationSignal(location_type, place_id, end_of_day(now))

        return mutate

    return await _change(ctx, mutation)


# https://learn.microsoft.com/graph/api/presence-clearautomaticlocation
async def clear_automatic_location(ctx: GraphContext) -> Response:
    """Forget the automatic layer only."""
    await action_body(ctx, "clearAutomaticLocation", frozenset(), may_be_empty=True)

    def mutation(now: float) -> Mutation:
        def mutate(person: PersonPresence) -> None:
            person.automatic_location = None

        return mutate

    return await _change(ctx, mutation)


# https://learn.microsoft.com/graph/api/presence-clearlocation
async def clear_location(ctx: GraphContext) -> Response:
    """Forget both the manual and the automatic layer."""
    await action_body(ctx, "clearLocation", frozenset(), may_be_empty=True)

    def mutation(now: float) -> Mutation:
        def mutate(person: PersonPresence) -> None:
            person.manual_location = None
            person.automatic_location = None

        return mutate

    return await _change(ctx, mutation)


# setManualLocation, setAutomaticLocation and clearAutomaticLocation are documented on both
# presence paths; clearLocation on /me and /users/{id} only.
_ROUTES = (
    ("/users/{user_id}/presence/setManualLocation", set_manual_location),
    ("/communications/presences/{user_id}/setManualLocation", set_manual_location),
    ("/users/{user_id}/presence/setAutomaticLocation", set_automatic_location),
    ("/communications/presences/{user_id}/setAutomaticLocation", set_automatic_location),
    ("/users/{user_id}/presence/clearAutomaticLocation", clear_automatic_location),
    ("/communications/presences/{user_id}/clearAutomaticLocation", clear_automatic_location),
    ("/users/{user_id}/presence/clearLocation", clear_location),
)
for _template, _handler in _ROUTES:
    graph_route("POST", _template, delegated=WRITE_DELEGATED, application=(), throttle=THROTTLE)(
        _handler
    )
