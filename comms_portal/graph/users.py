"""People in the directory: profiles, the org chart, photos, and delta sync."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import Field

from comms_portal.graph.errors import NotFound
from comms_portal.graph.http import GraphClient, GraphResponse, quote_segment
from comms_portal.graph.models import GraphModel, parse_model
from comms_portal.graph.paging import iter_items, run_delta

USER_FIELDS = (
    "id",
    "displayName",
    "userPrincipalName",
    "mail",
    "jobTitle",
    "department",
    "officeLocation",
    "givenName",
    "surname",
    "accountEnabled",
    "userType",
)
_SELECT = {"$select": ",".join(USER_FIELDS)}
_USER_TYPE = "#microsoft.graph.user"


class User(GraphModel):
    """A person in the directory."""

    # https://learn.microsoft.com/graph/api/resources/user
    id: str
    display_name: str | None = Field(default=None, alias="displayName")
    user_principal_name: str | None = Field(default=None, alias="userPrincipalName")
    mail: str | None = None
    job_title: str | None = Field(default=None, alias="jobTitle")
    department: str | None = None
    office_location: str | None = Field(default=None, alias="officeLocation")
    given_name: str | None = Field(default=None, alias="givenName")
    surname: str | None = None
    account_enabled: bool | None = Field(default=None, alias="accountEnabled")
    user_type: str | None = Field(default=None, alias="userType")


@dataclass(frozen=True)
class UsersDelta:
    """One round of user delta sync."""

    changed: list[User]
    removed_ids: list[str]
    delta_link: str


def _user(item: object, response: GraphResponse) -> User:
    return parse_model(
        User,
        item,
        what="user",
        request_id=response.request_id,
        client_request_id=response.client_request_id,
    )


def _is_user(item: object) -> bool:
    # directReports and manager may hold other directory objects (contacts, devices).
    odata_type = item.get("@odata.type") if isinstance(item, dict) else None
    return odata_type is None or odata_type == _USER_TYPE


def get_me(client: GraphClient) -> User:
    """Return the signed-in person's profile."""
    # https://learn.microsoft.com/graph/api/user-get
    response = client.send("GET", "/me", params=_SELECT)
    return _user(response.json_object(), response)


def get_user(client: GraphClient, user_id: str) -> User:
    """Return a person's profile by object id or user principal name."""
    # https://learn.microsoft.com/graph/api/user-get
    response = client.send("GET", f"/users/{quote_segment(user_id)}", params=_SELECT)
    return _user(response.json_object(), response)


def list_users(client: GraphClient, *, page_size: int | None = None) -> Iterator[User]:
    """Yield every person in the tenant, page by page."""
    # https://learn.microsoft.com/graph/api/user-list
    params: dict[str, str | int | bool] = dict(_SELECT)
    if page_size is not None:
        if not 1 <= page_size <= 999:
            raise ValueError("page_size must be between 1 and 999 (Graph's $top limit).")
        params["$top"] = page_size
    return iter_items(client, "/users", _user, params=params)


def users_delta(client: GraphClient, delta_link: str | None = None) -> UsersDelta:
    """Return users changed and removed since ``delta_link`` (all users when None)."""
    # https://learn.microsoft.com/graph/api/user-delta
    changed: list[User] = []
    removed: list[str] = []

    def sort(item: object, response: GraphResponse) -> None:
        if isinstance(item, dict) and "@removed" in item:
            # "changed" is a soft delete, "deleted" a permanent one: gone from the directory.
            user_id = item.get("id")
            if not isinstance(user_id, str) or not user_id:
                raise response.invalid("a removed user in the delta has no id")
            removed.append(user_id)
        else:
            changed.append(_user(item, response))

    if delta_link is None:
        result = run_delta(client, "/users/delta", sort, params=_SELECT)
    else:
        result = run_delta(client, delta_link, sort)
    return UsersDelta(changed=changed, removed_ids=removed, delta_link=result.delta_link)


def get_manager(client: GraphClient, user_id: str) -> User | None:
    """Return a person's manager, or None when they have none."""
    # https://learn.microsoft.com/graph/api/user-list-manager
    try:
        response = client.send(
            "GET",
            f"/users/{quote_segment(user_id)}/manager",
            params=_SELECT,
            expected_statuses=frozenset({404}),
        )
    except NotFound:
        return None
    document = response.json_object()
    return _user(document, response) if _is_user(document) else None


def list_direct_reports(client: GraphClient, user_id: str) -> list[User]:
    """Return the people who report to ``user_id``."""
    # https://learn.microsoft.com/graph/api/user-list-directreports
    url = f"/users/{quote_segment(user_id)}/directReports"

    def keep_users(item: object, response: GraphResponse) -> User | None:
        return _user(item, response) if _is_user(item) else None

    reports = iter_items(client, url, keep_users, params=_SELECT)
    return [report for report in reports if report is not None]


def get_photo(client: GraphClient, user_id: str) -> bytes | None:
    """Return a person's profile photo bytes, or None when they have no photo."""
    # https://learn.microsoft.com/graph/api/profilephoto-get
    try:
        response = client.send(
            "GET",
            f"/users/{quote_segment(user_id)}/photo/$value",
            headers={"Accept": "image/*"},
            expected_statuses=frozenset({404}),
        )
    except NotFound:
        return None
    return response.content
