"""The Graph pipeline refuses bad tokens (401) and tokens without the permission (403)."""

from __future__ import annotations

import base64
import json

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.sandbox.conftest import MEGAN, app_token, bearer, user_token_result
from tests.support.sandbox import RunningSandbox

OTHER_TENANT_USER = "jordan.hale@northpier.example"


def _assert_graph_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    inner = error["innerError"]
    assert inner["request-id"] == response.headers["request-id"]
    assert inner["client-request-id"] == response.headers["client-request-id"]
    assert "date" in inner and "Date" in response.headers


def _reseal(token: str, change: dict[str, object]) -> str:
    """Change the payload but keep the original signature (a tampered token)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(change)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def test_valid_app_token_reads_users(sandbox: RunningSandbox, graph: httpx.Client) -> None:
    response = graph.get("users", headers=bearer(app_token(sandbox)))
    assert response.status_code == 200
    assert response.headers["request-id"]


def test_missing_token_is_401_with_graph_error(graph: httpx.Client) -> None:
    response = graph.get(
        "users", headers={"client-request-id": "4a7b2f1e-0000-4000-8000-000000000001"}
    )
    _assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert response.headers["client-request-id"] == "4a7b2f1e-0000-4000-8000-000000000001"
    assert "WWW-Authenticate" in response.headers


def test_tampered_token_is_refused(sandbox: RunningSandbox, graph: httpx.Client) -> None:
    forged = _reseal(app_token(sandbox, "Limited Reader"), {"roles": ["User.Read.All"]})
    _assert_graph_error(
        graph.get("users", headers=bearer(forged)), 401, "InvalidAuthenticationToken"
    )


def test_garbage_token_is_refused(graph: httpx.Client) -> None:
    response = graph.get("users", headers=bearer("not-a-jwt"))
    _assert_graph_error(response, 401, "InvalidAuthenticationToken")


def test_wrong_audience_is_refused(sandbox: RunningSandbox, graph: httpx.Client) -> None:
    # Signed with the sandbox's own key, so only the audience is wrong.
    key_pem = (sandbox.log_path.parent / "signing-key.pem").read_bytes()
    key = serialization.load_pem_private_key(key_pem, password=None)
    claims = jwt.decode(app_token(sandbox), options={"verify_signature": False})
    claims["aud"] = "api://some-other-api"
    kid = jwt.get_unverified_header(app_token(sandbox))["kid"]
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})  # type: ignore[arg-type]
    response = graph.get("users", headers=bearer(token))
    _assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert "audience" in response.json()["error"]["message"].lower()


@pytest.mark.parametrize(
    "issuer",
    ["https://login.example.net/{tid}/", "https://sts.windows.net/{tid}", "{authority}/v2.0"],
    ids=["foreign", "no-trailing-slash", "v2-endpoint"],
)
def test_a_token_not_from_graphs_issuer_is_refused(
    sandbox: RunningSandbox, graph: httpx.Client, issuer: str
) -> None:
    # Graph's access tokens are v1.0 tokens from https://sts.windows.net/{tid}/.
    key_pem = (sandbox.log_path.parent / "signing-key.pem").read_bytes()
    key = serialization.load_pem_private_key(key_pem, password=None)
    genuine = app_token(sandbox)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    assert claims["iss"] == f"https://sts.windows.net/{sandbox.tenant_id}/"
    claims["iss"] = issuer.format(tid=sandbox.tenant_id, authority=sandbox.info["authority"])
    kid = jwt.get_unverified_header(genuine)["kid"]
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})  # type: ignore[arg-type]
    response = graph.get("users", headers=bearer(token))
    _assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert "issuer" in response.json()["error"]["message"].lower()


def test_expired_token_is_refused_after_the_clock_moves(
    sandbox: RunningSandbox, graph: httpx.Client
) -> None:
    token = app_token(sandbox)
    assert graph.get("users", headers=bearer(token)).status_code == 200
    sandbox.control("POST", "/clock", json={"advance_seconds": 3700})
    response = graph.get("users", headers=bearer(token))
    _assert_graph_error(response, 401, "InvalidAuthenticationToken")
    assert "expired" in response.json()["error"]["message"]
    # A token issued after the jump works again.
    assert graph.get("users", headers=bearer(app_token(sandbox))).status_code == 200


def test_token_from_another_tenant_is_refused(sandbox: RunningSandbox, graph: httpx.Client) -> None:
    scopes = ["https://graph.microsoft.com/User.Read"]
    organizations = f"{sandbox.info['https_base_url']}/organizations"
    _, result = user_token_result(sandbox, OTHER_TENANT_USER, scopes, authority=organizations)
    assert "access_token" in result, result
    other_tenant = sandbox.info["other_tenant"]["tenant_id"]
    assert result["id_token_claims"]["tid"] == other_tenant
    response = graph.get("me", headers=bearer(result["access_token"]))
    _assert_graph_error(response, 401, "InvalidAuthenticationToken")


def test_app_without_the_permission_gets_403(sandbox: RunningSandbox, graph: httpx.Client) -> None:
    response = graph.get("users", headers=bearer(app_token(sandbox, "Limited Reader")))
    _assert_graph_error(response, 403, "Authorization_RequestDenied")


def test_user_read_alone_reads_me_but_not_the_directory(
    sandbox: RunningSandbox, graph: httpx.Client
) -> None:
    _, result = user_token_result(
        sandbox, MEGAN, ["https://graph.microsoft.com/User.Read"], app_name="Limited Reader"
    )
    token = result["access_token"]
    me = graph.get("me", headers=bearer(token))
    assert me.status_code == 200 and me.json()["userPrincipalName"] == MEGAN
    _assert_graph_error(
        graph.get("users", headers=bearer(token)), 403, "Authorization_RequestDenied"
    )
    other = sandbox.user("priya.natarajan@lumenhall.example")["id"]
    _assert_graph_error(
        graph.get(f"users/{other}", headers=bearer(token)), 403, "Authorization_RequestDenied"
    )


def test_me_with_an_app_token_is_400(sandbox: RunningSandbox, graph: httpx.Client) -> None:
    _assert_graph_error(graph.get("me", headers=bearer(app_token(sandbox))), 400, "BadRequest")


def test_clock_jump_is_visible_in_control_api(sandbox: RunningSandbox) -> None:
    before = sandbox.control("GET", "/clock").json()["timestamp"]
    sandbox.control("POST", "/clock", json={"advance_seconds": 5})
    after = sandbox.control("GET", "/clock").json()["timestamp"]
    assert 5 <= after - before < 30
