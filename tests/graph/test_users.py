"""Directory reads: profiles, paging with $select, delta sync, org chart, photos."""

from __future__ import annotations

import httpx
import pytest

from comms_portal.graph import GraphClient, InvalidResponse
from comms_portal.graph.users import (
    USER_FIELDS,
    get_manager,
    get_me,
    get_photo,
    get_user,
    list_direct_reports,
    list_users,
    users_delta,
)
from tests.graph.fakegraph import BASE_URL, FakeGraph, json_response

# The cast: people of the documentation's sample tenant.
ADELE = {
    "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
    "displayName": "Adele Vance",
    "userPrincipalName": "AdeleV@contoso.com",
    "mail": "AdeleV@contoso.com",
    "jobTitle": "Retail Manager",
    "department": "Retail",
    "officeLocation": "18/2111",
    "givenName": "Adele",
    "surname": "Vance",
    "accountEnabled": True,
    "userType": "Member",
}
MEGAN = {
    "id": "48d31887-5fad-4d73-a9f5-3c356e68a038",
    "displayName": "Megan Bowen",
    "userPrincipalName": "MeganB@contoso.com",
    "jobTitle": "Marketing Manager",
}
MIRIAM = {
    "@odata.type": "#microsoft.graph.user",
    "id": "08fa38e4-cbfa-4488-94ed-c834da6539df",
    "displayName": "Miriam Graham",
    "userPrincipalName": "MiriamG@contoso.com",
}
ROOM_CONTACT = {"@odata.type": "#microsoft.graph.orgContact", "id": "c0ffee00-0000-4000-8000-0"}


def test_my_profile_is_typed_and_selected(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue("GET", "/v1.0/me", json_response(200, ADELE))

    me = get_me(client)

    assert me.display_name == "Adele Vance"
    assert me.user_principal_name == "AdeleV@contoso.com"
    assert me.office_location == "18/2111"
    assert me.account_enabled is True
    assert graph.seen[0].url.params["$select"] == ",".join(USER_FIELDS)


def test_a_user_by_principal_name(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue("GET", "/v1.0/users/MeganB@contoso.com", json_response(200, MEGAN))

    megan = get_user(client, "MeganB@contoso.com")

    assert megan.job_title == "Marketing Manager"
    assert megan.mail is None


def test_ids_cannot_escape_their_path_segment(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue("GET", "/v1.0/users/../groups", json_response(200, MEGAN))
    get_user(client, "../groups")
    assert graph.seen[0].url.raw_path.startswith(b"/v1.0/users/..%2Fgroups")
    with pytest.raises(ValueError, match="empty"):
        get_user(client, " ")


def test_a_user_without_id_is_invalid(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue("GET", "/v1.0/me", json_response(200, {"displayName": "Nobody"}))
    with pytest.raises(InvalidResponse, match="id"):
        get_me(client)


def test_users_are_listed_across_pages(graph: FakeGraph, client: GraphClient) -> None:
    next_link = f"{BASE_URL}/users?$select=id&$skiptoken=X"
    graph.queue(
        "GET",
        "/v1.0/users",
        json_response(200, {"value": [ADELE, MEGAN], "@odata.nextLink": next_link}),
        json_response(200, {"value": [MIRIAM]}),
    )

    names = [user.display_name for user in list_users(client, page_size=2)]

    assert names == ["Adele Vance", "Megan Bowen", "Miriam Graham"]
    assert graph.seen[0].url.params["$top"] == "2"
    assert str(graph.seen[1].url) == next_link


def test_page_size_beyond_graphs_limit_is_refused(client: GraphClient) -> None:
    with pytest.raises(ValueError, match="999"):
        list_users(client, page_size=1000)


def test_delta_splits_changed_and_removed_users(graph: FakeGraph, client: GraphClient) -> None:
    first_link = f"{BASE_URL}/users/delta?$deltatoken=round-1"
    second_link = f"{BASE_URL}/users/delta?$deltatoken=round-2"
    graph.queue(
        "GET",
        "/v1.0/users/delta",
        json_response(200, {"value": [ADELE, MEGAN], "@odata.deltaLink": first_link}),
        json_response(
            200,
            {
                "value": [
                    {**MEGAN, "jobTitle": "Head of Marketing"},
                    {"id": ADELE["id"], "@removed": {"reason": "changed"}},
                    {"id": MIRIAM["id"], "@removed": {"reason": "deleted"}},
                ],
                "@odata.deltaLink": second_link,
            },
        ),
    )

    initial = users_delta(client)
    later = users_delta(client, initial.delta_link)

    assert [user.display_name for user in initial.changed] == ["Adele Vance", "Megan Bowen"]
    assert initial.removed_ids == []
    assert initial.delta_link == first_link
    assert graph.seen[0].url.params["$select"] == ",".join(USER_FIELDS)
    assert str(graph.seen[1].url) == first_link
    assert [user.job_title for user in later.changed] == ["Head of Marketing"]
    assert later.removed_ids == [ADELE["id"], MIRIAM["id"]]
    assert later.delta_link == second_link


def test_delta_removal_without_id_is_invalid(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue(
        "GET",
        "/v1.0/users/delta",
        json_response(200, {"value": [{"@removed": {}}], "@odata.deltaLink": f"{BASE_URL}/x"}),
    )
    with pytest.raises(InvalidResponse, match="removed user"):
        users_delta(client)


def test_manager_is_returned_or_none(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue("GET", f"/v1.0/users/{MEGAN['id']}/manager", json_response(200, MIRIAM))
    graph.queue("GET", f"/v1.0/users/{MIRIAM['id']}/manager", json_response(404, None))

    manager = get_manager(client, MEGAN["id"])

    assert manager is not None
    assert manager.display_name == "Miriam Graham"
    assert get_manager(client, MIRIAM["id"]) is None


def test_direct_reports_keep_only_people(graph: FakeGraph, client: GraphClient) -> None:
    graph.queue(
        "GET",
        f"/v1.0/users/{MIRIAM['id']}/directReports",
        json_response(200, {"value": [ADELE, ROOM_CONTACT, MEGAN]}),
    )

    reports = list_direct_reports(client, MIRIAM["id"])

    assert [user.display_name for user in reports] == ["Adele Vance", "Megan Bowen"]


def test_photo_bytes_or_none(graph: FakeGraph, client: GraphClient) -> None:
    jpeg = b"\xff\xd8\xff\xe0 portrait of Adele"
    graph.queue(
        "GET",
        f"/v1.0/users/{ADELE['id']}/photo/$value",
        httpx.Response(200, content=jpeg, headers={"Content-Type": "image/jpeg"}),
    )
    graph.queue(
        "GET",
        f"/v1.0/users/{MEGAN['id']}/photo/$value",
        json_response(404, {"error": {"code": "ImageNotFound", "message": "No photo."}}),
    )

    assert get_photo(client, str(ADELE["id"])) == jpeg
    assert get_photo(client, str(MEGAN["id"])) is None
    assert graph.seen[0].headers["Accept"] == "image/*"
