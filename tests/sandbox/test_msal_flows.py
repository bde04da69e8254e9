"""MSAL Python against the running sandbox: auth code with PKCE, silent refresh, app-only."""

from __future__ import annotations

import jwt
import msal

from tests.sandbox.conftest import (
    GRAPH_DEFAULT,
    MEGAN,
    PRIYA,
    ca_context,
    msal_app,
    user_token_result,
)
from tests.support.sandbox import RunningSandbox

SCOPES = ["https://graph.microsoft.com/User.Read", "https://graph.microsoft.com/User.Read.All"]


def _jwks_client(sandbox: RunningSandbox) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(
        f"{sandbox.info['authority']}/discovery/v2.0/keys", ssl_context=ca_context(sandbox)
    )


def test_auth_code_flow_with_pkce_returns_verifiable_tokens(sandbox: RunningSandbox) -> None:
    app, result = user_token_result(sandbox, MEGAN, SCOPES)
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    assert set(result["scope"].split()) >= set(SCOPES)
    megan = sandbox.user(MEGAN)
    claims = result["id_token_claims"]
    assert claims["oid"] == megan["id"] and claims["tid"] == sandbox.tenant_id
    assert claims["preferred_username"] == MEGAN and claims["roles"] == ["Portal.Admin"]
    assert claims["ver"] == "2.0"
    # Verify signature (from the JWKS), issuer and audience. Times follow the sandbox clock,
    # which other tests move ahead of real time, so they are not checked here.
    key = _jwks_client(sandbox).get_signing_key_from_jwt(result["id_token"]).key
    verified = jwt.decode(
        result["id_token"],
        key,
        algorithms=["RS256"],
        audience=sandbox.app("Comms Portal")["client_id"],
        issuer=f"{sandbox.info['authority']}/v2.0",
        options={"verify_iat": False, "verify_nbf": False, "verify_exp": False},
    )
    assert verified["name"] == "Megan Reyes"
    # The access token is Graph's: a v1.0 token whichever endpoint issued it, signed with
    # the same published keys.
    access_key = _jwks_client(sandbox).get_signing_key_from_jwt(result["access_token"]).key
    access = jwt.decode(
        result["access_token"],
        access_key,
        algorithms=["RS256"],
        audience="https://graph.microsoft.com",
        issuer=f"https://sts.windows.net/{sandbox.tenant_id}/",
        options={"verify_iat": False, "verify_nbf": False, "verify_exp": False},
    )
    assert access["ver"] == "1.0" and "azp" not in access
    assert access["appid"] == sandbox.app("Comms Portal")["client_id"]
    assert access["upn"] == MEGAN and access["oid"] == megan["id"]
    assert set(access["scp"].split()) == {"User.Read", "User.Read.All"}
    account = app.get_accounts()[0]
    assert account["home_account_id"] == f"{megan['id']}.{sandbox.tenant_id}"
    assert account["username"] == MEGAN


def test_query_response_mode_works_with_msal(sandbox: RunningSandbox) -> None:
    _, result = user_token_result(sandbox, PRIYA, SCOPES, response_mode="query")
    assert "access_token" in result, result
    assert "Portal.Admin" not in result["id_token_claims"]["roles"]


def test_silent_refresh_rotates_the_refresh_token(sandbox: RunningSandbox) -> None:
    app, first = user_token_result(sandbox, PRIYA, SCOPES)
    account = app.get_accounts()[0]
    cached = app.acquire_token_silent(SCOPES, account=account)
    assert cached is not None and cached["access_token"] == first["access_token"]
    sandbox.control("POST", "/clock", json={"advance_seconds": 120})
    refreshed = app.acquire_token_silent(SCOPES, account=account, force_refresh=True)
    assert refreshed is not None and "access_token" in refreshed, refreshed
    assert refreshed["access_token"] != first["access_token"]
    # The first refresh token was spent by the rotation: replaying it fails.
    replay = msal_app(sandbox).acquire_token_by_refresh_token(first["refresh_token"], SCOPES)
    assert replay["error"] == "invalid_grant"
    assert replay["error_description"].startswith("AADSTS70000")


def test_revoked_refresh_token_is_refused(sandbox: RunningSandbox) -> None:
    _app, first = user_token_result(sandbox, PRIYA, SCOPES)
    answer = sandbox.control("POST", "/tokens/revoke", json={"user_id": sandbox.user(PRIYA)["id"]})
    assert answer.status_code == 200 and answer.json()["revoked_refresh_tokens"] >= 1
    result = msal_app(sandbox).acquire_token_by_refresh_token(first["refresh_token"], SCOPES)
    assert result["error"] == "invalid_grant"
    assert result["error_description"].startswith("AADSTS50173")
    assert {"error_codes", "trace_id", "correlation_id", "timestamp"} <= result.keys()


def test_client_credentials_token_carries_application_roles(sandbox: RunningSandbox) -> None:
    result = msal_app(sandbox).acquire_token_for_client(scopes=[GRAPH_DEFAULT])
    assert "access_token" in result, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["ver"] == "1.0" and "azp" not in claims
    assert claims["iss"] == claims["idp"] == f"https://sts.windows.net/{sandbox.tenant_id}/"
    assert claims["idtyp"] == "app" and "scp" not in claims
    assert "User.Read.All" in claims["roles"] and "Presence.Read.All" in claims["roles"]
    assert claims["tid"] == sandbox.tenant_id
    assert claims["appid"] == sandbox.app("Comms Portal")["client_id"]


def test_wrong_client_secret_gets_entra_error(sandbox: RunningSandbox) -> None:
    app = sandbox.app("Comms Portal")
    client = msal.ConfidentialClientApplication(
        app["client_id"],
        client_credential="not-the-secret",
        authority=sandbox.info["authority"],
        instance_discovery=False,
        http_client=msal_app(sandbox).http_client,
    )
    result = client.acquire_token_for_client(scopes=[GRAPH_DEFAULT])
    assert result["error"] == "invalid_client"
    assert result["error_description"].startswith("AADSTS7000215")
    assert result["error_codes"] == [7000215]


def test_client_credentials_without_default_scope_is_refused(sandbox: RunningSandbox) -> None:
    result = msal_app(sandbox).acquire_token_for_client(
        scopes=["https://graph.microsoft.com/User.Read.All"]
    )
    assert result["error"] == "invalid_scope"
    assert result["error_description"].startswith("AADSTS1002012")
