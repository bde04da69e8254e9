"""Directory endpoints over HTTP: /me, /users (paging, OData), manager, reports, photos, delta."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.sandbox.conftest import (
    MEGAN,
    PRIYA,
    app_token,
    bearer,
    live_user_count,
    user_token_result,
)
from tests.support.sandbox import RunningSandbox


@pytest.fixture
def headers(sandbox: RunningSandbox) -> dict[str, str]:
    return bearer(app_token(sandbox))


def test_me_returns_the_signed_in_person(sandbox: RunningSandbox, graph: httpx.Client) -> None:
    _, result = user_token_result(sandbox, PRIYA, ["https://graph.microsoft.com/User.Read"])
    body = graph.get("me", headers=bearer(result["access_token"])).json()
    assert body["id"] == sandbox.user(PRIYA)["id"]
    assert body["displayName"] == "Priya Natarajan" and body["jobTitle"] == "Head of Engineering"
    assert body["@odata.context"].endswith("/v1.0/$metadata#users/$entity")


def test_users_pages_with_absolute_next_links(
    sandbox: RunningSandbox, graph: httpx.Client, headers: dict[str, str]
) -> None:
    seen: list[str] = []
    url: str | None = "users?$top=25&$select=id,displayName"
    pages = 0
    while url:
        body = graph.get(url, headers=headers).json()
        seen += [user["id"] for user in body["value"]]
        assert all(set(user) == {"id", "displayName"} for user in body["value"])
        url = body.get("@odata.nextLink")
        assert url is None or url.startswith(sandbox.graph_base_url + "/users?")
        pages += 1
    assert len(seen) == len(set(seen)) == live_user_count(sandbox, graph)
    assert pages == -(-len(seen) // 25)


def test_filter_is_case_insensitive_on_property_names(
    graph: httpx.Client, headers: dict[str, str]
) -> None:
    body = graph.get(
        "users",
        params={"$filter": "Department eq 'engineering' and startswith(displayName,'P')"},
        headers=headers,
    ).json()
    assert [user["userPrincipalName"] for user in body["value"]] == [PRIYA]


def test_filter_in_and_or(graph: httpx.Client, headers: dict[str, str]) -> None:
    body = graph.get(
        "users",
        params={
            "$filter": f"userPrincipalName in ('{MEGAN}','{PRIYA}') "
            "or jobTitle eq 'General Counsel'"
        },
        headers=headers,
    ).json()
    assert sorted(user["displayName"] for user in body["value"]) == [
        "Marcus Bell",
        "Megan Reyes",
        "Priya Natarajan",
    ]


def test_count_needs_eventual_consistency(graph: httpx.Client, headers: dict[str, str]) -> None:
    params = {"$count": "true", "$filter": "department eq 'Legal'"}
    refused = graph.get("users", params=params, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "Request_BadRequest"
    counted = graph.get(
        "users", params=params, headers={**headers, "ConsistencyLevel": "eventual"}
    ).json()
    assert counted["@odata.count"] == len(counted["value"]) >= 2


def test_orderby_display_name(graph: httpx.Client, headers: dict[str, str]) -> None:
    body = graph.get("users", params={"$orderby": "displayName desc", "$top": "5"}, headers=headers)
    names = [user["displayName"] for user in body.json()["value"]]
    assert names == sorted(names, key=str.lower, reverse=True)


def test_user_by_percent_encoded_upn(
    sandbox: RunningSandbox, graph: httpx.Client, headers: dict[str, str]
) -> None:
    body = graph.get(f"users/{quote(MEGAN, safe='')}", headers=headers).json()
    assert body["id"] == sandbox.user(MEGAN)["id"]
    selected = graph.get(
        f"users/{body['id']}", params={"$select": "department,accountEnabled"}, headers=headers
    ).json()
    assert selected["department"] == "Executive" and selected["accountEnabled"] is True


def test_unknown_user_is_404(graph: httpx.Client, headers: dict[str, str]) -> None:
    response = graph.get("users/00000000-0000-4000-8000-000000000000", headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "Request_ResourceNotFound"


def test_manager_and_direct_reports_form_a_tree(
    sandbox: RunningSandbox, graph: httpx.Client, headers: dict[str, str]
) -> None:
    priya = sandbox.user(PRIYA)["id"]
    manager = graph.get(f"users/{priya}/manager", headers=headers).json()
    assert manager["userPrincipalName"] == MEGAN
    assert manager["@odata.type"] == "#microsoft.graph.user"
    reports = graph.get(f"users/{manager['id']}/directReports", headers=headers).json()["value"]
    assert priya in {report["id"] for report in reports}
    ceo = graph.get(f"users/{manager['id']}/manager", headers=headers)
    assert ceo.status_code == 404


def test_photo_is_a_png_and_rooms_have_none(
    sandbox: RunningSandbox, graph: httpx.Client, headers: dict[str, str]
) -> None:
    megan = sandbox.user(MEGAN)["id"]
    photo = graph.get(f"users/{megan}/photo/$value", headers=headers)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"
    assert photo.content.startswith(b"\x89PNG")
    assert graph.get(f"users/{megan}/photo/$value", headers=headers).content == photo.content
    meta = graph.get(f"users/{megan}/photo", headers=headers).json()
    assert meta["height"] == meta["width"] == 240
    room = next(u for u in sandbox.info["users"] if u["displayName"].startswith("Room - "))
    missing = graph.get(f"users/{room['id']}/photo/$value", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ImageNotFound"


def test_delta_returns_changes_after_control_api_edits(
    sandbox: RunningSandbox, graph: httpx.Client, headers: dict[str, str]
) -> None:
    url: str | None = "users/delta?$select=displayName,jobTitle&$top=40"
    first_round: list[dict[str, object]] = []
    delta_link = None
    while url:
        body = graph.get(url, headers=headers).json()
        first_round += body["value"]
        url = body.get("@odata.nextLink")
        delta_link = body.get("@odata.deltaLink", delta_link)
    assert len(first_round) == live_user_count(sandbox, graph) and delta_link
    quiet = graph.get(delta_link, headers=headers).json()
    assert quiet["value"] == [] and "@odata.deltaLink" in quiet

    changed = next(u for u in sandbox.info["users"] if u["department"] == "Sales")
    removed = next(u for u in sandbox.info["users"] if u["department"] == "Marketing")
    edit = sandbox.control("POST", f"/users/{changed['id']}", json={"jobTitle": "Sales Director"})
    assert edit.status_code == 200
    assert sandbox.control("DELETE", f"/users/{removed['id']}").status_code == 204
    changes = graph.get(quiet["@odata.deltaLink"], headers=headers).json()["value"]
    assert {"id": removed["id"], "@removed": {"reason": "changed"}} in changes
    assert {
        "id": changed["id"],
        "displayName": changed["displayName"],
        "jobTitle": "Sales Director",
    } in [{k: v for k, v in c.items() if k in ("id", "displayName", "jobTitle")} for c in changes]
    assert graph.get(f"users/{removed['id']}", headers=headers).status_code == 404
