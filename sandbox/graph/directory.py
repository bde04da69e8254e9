"""Users: /users, /users/{id|upn}, /users/delta, manager, directReports and photos."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from sandbox.graph.errors import graph_json
from sandbox.graph.odata import (
    ODataQuery,
    context_url,
    next_link,
    page_of,
    parse_query,
    project,
)
from sandbox.graph.odata_types import EntitySet
from sandbox.graph.photos import PHOTO_SIZE, photo_png
from sandbox.graph.routing import GraphContext, GraphError, Handler, graph_route
from sandbox.tenant import User

_EQ = frozenset({"eq", "ne", "in"})
_TEXT = frozenset({"eq", "ne", "in", "ge", "le", "startswith"})
_TEXT_END = _TEXT | {"endswith"}

# https://learn.microsoft.com/graph/aad-advanced-queries (user properties and operators)
USERS = EntitySet(
    name="users",
    type_name="microsoft.graph.user",
    properties=(
        "id",
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
        "department",
        "accountEnabled",
        "userType",
        "city",
    ),
    filterable={
        "id": frozenset({"eq", "ne", "in", "ge", "le"}),
        "accountEnabled": _EQ,
        "department": _TEXT,
        "displayName": _TEXT,
        "givenName": _TEXT,
        "surname": _TEXT,
        "jobTitle": _TEXT,
        "mail": _TEXT_END,
        "userPrincipalName": _TEXT_END,
        "officeLocation": _TEXT,
        "mobilePhone": _TEXT,
        "userType": _EQ,
        "city": _TEXT,
    },
    sortable=("displayName", "userPrincipalName"),
    search_properties=("displayName", "givenName", "surname", "mail", "userPrincipalName"),
)
# What Graph returns for a user without $select.
DEFAULT_PROPERTIES = (
    "id",
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)
# All that User.ReadBasic.All may read.
BASIC_PROPERTIES = frozenset(
    {"id", "displayName", "givenName", "surname", "mail", "userPrincipalName"}
)

READ_ANY = ("User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
READ_FULL = frozenset(
    p.lower() for p in ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
)
APP_READ = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All")


def _user_or_404(context: GraphContext, key: str = "user_id") -> User:
    id_or_upn = context.path_params[key]
    user = context.state.tenant.directory_user(id_or_upn)
    if user is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{id_or_upn}' does not exist or one of its queried reference-property "
            "objects are not present.",
        )
    return user


def _may_read_others(context: GraphContext) -> bool:
    return context.principal.kind == "application" or any(
        p.lower() in {x.lower() for x in READ_ANY} for p in context.principal.permissions
    )


def _reads_full_profile(context: GraphContext) -> bool:
    if context.principal.kind == "application":
        return True
    return any(p.lower() in READ_FULL for p in context.principal.permissions)


def _check_other_user(context: GraphContext, user: User) -> None:
    """A token with only User.Read may read its own user and nobody else."""
    if user.id != context.principal.user_id and not _may_read_others(context):
        raise GraphError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )


def _visible(context: GraphContext, user: User, query: ODataQuery | None) -> dict[str, Any]:
    data = user.to_graph()
    if query is None or not query.select:
        data = {name: data[name] for name in DEFAULT_PROPERTIES}
    if not _reads_full_profile(context) and user.id != context.principal.user_id:
        data = {k: (v if k in BASIC_PROPERTIES else None) for k, v in data.items()}
    return data


def _readable_user(context: GraphContext) -> User:
    """Return the user the path names, if the caller may read them (404 or 403 otherwise)."""
    user = _user_or_404(context)
    _check_other_user(context, user)
    return user


def _query(context: GraphContext, **kwargs: Any) -> ODataQuery:
    return parse_query(
        context.request.query_params,
        USERS,
        consistency_level=context.request.headers.get("consistencylevel"),
        **kwargs,
    )


# https://learn.microsoft.com/graph/api/user-list
def user_read_route(template: str) -> Callable[[Handler], Handler]:
    """Register a GET on one user: anyone may read themself, others need a directory permission."""
    return graph_route(
        "GET",
        template,
        delegated=("User.Read", *READ_ANY),
        application=APP_READ,
        throttle="directory",
    )


@graph_route("GET", "/users", delegated=READ_ANY, application=APP_READ, throttle="directory")
async def list_users(context: GraphContext) -> Response:
    """List the tenant's users with Graph's paging, $select, $filter, $orderby, $count, $search."""
    query = _query(context)
    users = context.state.tenant.live_users()
    # $filter and $search see every property, whatever the caller may read or selected.
    items = [user.to_graph() for user in users]
    body = page_of(items, query, USERS, base_url=context.base_url, path="/users")
    body["value"] = [
        project(_visible(context, _find(context, item["id"]), query), query.select)
        for item in body["value"]
    ]
    return graph_json(body)


def _find(context: GraphContext, user_id: str) -> User:
    user = context.state.tenant.directory_user(user_id)
    assert user is not None
    return user


# https://learn.microsoft.com/graph/api/user-get
@user_read_route("/users/{user_id}")
async def get_user(context: GraphContext) -> Response:
    """Return one user by object id or userPrincipalName (``/me`` arrives here too)."""
    query = _query(context, allow=frozenset({"$select"}))
    user = _readable_user(context)
    suffix = f"({','.join(query.select)})" if query.select else ""
    body = {
        "@odata.context": f"{context.base_url}/$metadata#users{suffix}/$entity",
        **project(_visible(context, user, query), query.select),
    }
    return graph_json(body)


# https://learn.microsoft.com/graph/api/user-list-manager
@user_read_route("/users/{user_id}/manager")
async def get_manager(context: GraphContext) -> Response:
    """Return the user's manager as a directory object."""
    query = _query(context, allow=frozenset({"$select"}))
    user = _readable_user(context)
    manager = context.state.tenant.directory_user(user.manager_id or "")
    if manager is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            "Resource 'manager' does not exist or one of its queried reference-property objects "
            "are not present.",
        )
    body = {
        "@odata.context": f"{context.base_url}/$metadata#directoryObjects/$entity",
        "@odata.type": "#microsoft.graph.user",
        **project(_visible(context, manager, query), query.select),
    }
    return graph_json(body)


# https://learn.microsoft.com/graph/api/user-list-directreports
@user_read_route("/users/{user_id}/directReports")
async def list_direct_reports(context: GraphContext) -> Response:
    """List the people who report to the user."""
    query = _query(context, allow=frozenset({"$select", "$top", "$skiptoken"}))
    user = _readable_user(context)
    reports = context.state.tenant.direct_reports(user.id)
    items = [
        {"@odata.type": "#microsoft.graph.user", **_visible(context, r, query)} for r in reports
    ]
    directory_objects = EntitySet(
        name="directoryObjects",
        type_name=USERS.type_name,
        properties=USERS.properties,
        filterable={},
    )
    path = f"/users/{user.id}/directReports"
    body = page_of(items, query, directory_objects, base_url=context.base_url, path=path)
    if query.select:
        body["value"] = [{"@odata.type": "#microsoft.graph.user", **item} for item in body["value"]]
    return graph_json(body)


# https://learn.microsoft.com/graph/api/profilephoto-get
@user_read_route("/users/{user_id}/photo")
async def get_photo_metadata(context: GraphContext) -> Response:
    """Return the photo's metadata (size and media type)."""
    user = _photo_owner(context)
    png = photo_png(user.id, user.display_name)
    return graph_json(
        {
            "@odata.context": f"{context.base_url}/$metadata#users('{user.id}')/photo/$entity",
            "@odata.mediaContentType": "image/png",
            "@odata.mediaEtag": f'W/"{hashlib.sha256(png).hexdigest()[:32]}"',
            "id": f"{PHOTO_SIZE}X{PHOTO_SIZE}",
            "height": PHOTO_SIZE,
            "width": PHOTO_SIZE,
        }
    )


# https://learn.microsoft.com/graph/api/profilephoto-get
@user_read_route("/users/{user_id}/photo/$value")
async def get_photo_value(context: GraphContext) -> Response:
    """Return the generated photo as PNG bytes."""
    user = _photo_owner(context)
    png = photo_png(user.id, user.display_name)
    return Response(
        png,
        media_type="image/png",
        headers={"ETag": f'W/"{hashlib.sha256(png).hexdigest()[:32]}"'},
    )


def _photo_owner(context: GraphContext) -> User:
    user = _readable_user(context)
    if user.is_service_account:
        # Rooms and service accounts carry no photo, as is common in real tenants.
        raise GraphError(404, "ImageNotFound", "The user has no profile photo.")
    return user


# --- delta --------------------------------------------------------------------------------


def _encode_state(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _decode_state(token: str, name: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise GraphError(400, "BadRequest", f"The {name} is not valid.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("since"), int):
        raise GraphError(400, "BadRequest", f"The {name} is not valid.")
    return data


# https://learn.microsoft.com/graph/api/user-delta
@graph_route(
    "GET",
    "/users/delta",
    delegated=("User.Read.All", "User.ReadWrite.All", "Directory.Read.All"),
    application=APP_READ,
    throttle="directory",
)
async def users_delta(context: GraphContext) -> Response:
    """Page through all users (first round) or the changes since a deltaLink (later rounds)."""
    params = context.request.query_params
    tenant = context.state.tenant
    options = {k: v for k, v in params.items() if k not in ("$skiptoken", "$deltatoken")}
    query = parse_query(
        options, USERS, consistency_level=None, allow=frozenset({"$select", "$top"})
    )
    page_size = query.top or USERS.default_page_size
    if "$skiptoken" in params:
        position = _decode_state(params["$skiptoken"], "$skiptoken")
    elif "$deltatoken" in params:
        if params["$deltatoken"].lower() == "latest":
            position = {"since": tenant.change_counter, "offset": 0, "latest": True}
        else:
            position = {**_decode_state(params["$deltatoken"], "$deltatoken"), "offset": 0}
    else:
        position = {"since": -1, "offset": 0}
    since, offset = int(position["since"]), int(position.get("offset", 0))
    position.setdefault("until", tenant.change_counter)
    if position.get("latest"):
        changed: list[User] = []
    elif since < 0:
        changed = tenant.live_users()
    else:
        changed = [u for u in tenant.users if u.change_sequence > since]
    page = changed[offset : offset + page_size]
    raw = {"$select": ",".join(query.select)} if query.select else {}
    body: dict[str, Any] = {"@odata.context": context_url(context.base_url, USERS, query.select)}
    if offset + page_size < len(changed):
        token = _encode_state({**position, "offset": offset + page_size})
        body["@odata.nextLink"] = next_link(context.base_url, "/users/delta", raw, token)
    else:
        delta = _encode_state({"since": position["until"]})
        link = next_link(context.base_url, "/users/delta", raw, delta)
        body["@odata.deltaLink"] = link.replace("$skiptoken=", "$deltatoken=")
    body["value"] = [
        {"id": user.id, "@removed": {"reason": "changed"}}
        if user.deleted
        # Delta answers always carry the id, whatever $select says.
        else {"id": user.id, **project(_visible(context, user, query), query.select)}
        for user in page
    ]
    return graph_json(body)
