"""App-role assignments changed through the control API reach the next id_token."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import MEGAN, PRIYA, user_token_result
from tests.support.sandbox import RunningSandbox

SCOPES = ["User.Read"]
ADMIN = "Portal.Admin"


def roles_path(sandbox: RunningSandbox, upn: str) -> str:
    return f"/users/{sandbox.user(upn)['id']}/app-roles"


def test_a_removed_role_is_missing_from_the_next_id_token_and_a_given_one_present(
    sandbox: RunningSandbox,
) -> None:
    app, first = user_token_result(sandbox, MEGAN, SCOPES)
    assert first["id_token_claims"]["roles"] == [ADMIN]
    account = app.get_accounts()[0]
    try:
        answer = sandbox.control("POST", roles_path(sandbox, MEGAN), json={"roles": []})
        assert answer.json() == {"user_id": sandbox.user(MEGAN)["id"], "roles": []}
        assert sandbox.control("GET", roles_path(sandbox, MEGAN)).json()["roles"] == []

        refreshed = app.acquire_token_silent(SCOPES, account=account, force_refresh=True)
        assert refreshed is not None and "id_token_claims" in refreshed, refreshed
        assert refreshed["id_token_claims"]["roles"] == []

        sandbox.control("POST", roles_path(sandbox, MEGAN), json={"roles": [ADMIN]})
        again = app.acquire_token_silent(SCOPES, account=account, force_refresh=True)
        assert again is not None and again["id_token_claims"]["roles"] == [ADMIN]
    finally:
        sandbox.control("POST", roles_path(sandbox, MEGAN), json={"roles": [ADMIN]})


def test_a_role_given_to_someone_makes_their_sign_in_carry_it(sandbox: RunningSandbox) -> None:
    try:
        sandbox.control("POST", roles_path(sandbox, PRIYA), json={"roles": [ADMIN, ADMIN]})
        assert sandbox.control("GET", roles_path(sandbox, PRIYA)).json()["roles"] == [ADMIN]
        _app, result = user_token_result(sandbox, PRIYA, SCOPES)
        assert result["id_token_claims"]["roles"] == [ADMIN]
    finally:
        sandbox.control("POST", roles_path(sandbox, PRIYA), json={"roles": []})
    _app, result = user_token_result(sandbox, PRIYA, SCOPES)
    assert result["id_token_claims"]["roles"] == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"roles": ["Portal.Owner"]}, "No app defines the roles Portal.Owner; defined are"),
        ({"roles": "Portal.Admin"}, 'Send {"roles": [...]}'),
        ({"roles": [1]}, 'Send {"roles": [...]}'),
        ({"roles": [], "extra": True}, 'Send {"roles": [...]}'),
        ({}, 'Send {"roles": [...]}'),
    ],
)
def test_bad_role_changes_are_refused_and_change_nothing(
    sandbox: RunningSandbox, body: dict[str, object], error: str
) -> None:
    answer = sandbox.control("POST", roles_path(sandbox, MEGAN), json=body)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(error)
    assert sandbox.control("GET", roles_path(sandbox, MEGAN)).json()["roles"] == [ADMIN]


def test_roles_of_an_unknown_person_are_not_found(sandbox: RunningSandbox) -> None:
    answer = sandbox.control("POST", "/users/nobody/app-roles", json={"roles": []})
    assert answer.status_code == 404
    assert answer.json() == {"error": "No such user."}
