"""The authorize, sign-in, consent, token and logout endpoints' rules, over plain HTTP."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from tests.sandbox.conftest import MEGAN, ca_context
from tests.support.entra_signin import form_action, hidden_fields, sign_in
from tests.support.sandbox import RunningSandbox

REDIRECT = "http://127.0.0.1:8000/accounts/callback"
VERIFIER = "a-fixed-verifier-that-is-long-enough-for-pkce-0123456789"
CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode().rstrip("=")
)


@pytest.fixture
def browser(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """A cookie-keeping client, like one browser profile."""
    with httpx.Client(verify=ca_context(sandbox), trust_env=False) as client:
        yield client


def authorize_url(sandbox: RunningSandbox, app: str = "Comms Portal", **overrides: str) -> str:
    params = {
        "client_id": sandbox.app(app)["client_id"],
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid offline_access https://graph.microsoft.com/User.Read",
        "state": "xyz",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **overrides,
    }
    params = {key: value for key, value in params.items() if value != ""}
    endpoint = f"{sandbox.info['http_base_url']}/{sandbox.tenant_id}/oauth2/v2.0/authorize"
    return f"{endpoint}?{urlencode(params)}"


def redeem(sandbox: RunningSandbox, code: str, **overrides: str) -> httpx.Response:
    app = sandbox.app("Comms Portal")
    form = {
        "grant_type": "authorization_code",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
        **overrides,
    }
    with httpx.Client(verify=ca_context(sandbox), trust_env=False) as client:
        return client.post(f"{sandbox.info['authority']}/oauth2/v2.0/token", data=form)


def _redirect_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    assert response.headers["location"].startswith(REDIRECT)
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "00000000-0000-4000-8000-00000000dead"},
        {"redirect_uri": "https://evil.example/cb"},
    ],
    ids=["unknown-client", "unregistered-redirect"],
)
def test_bad_client_or_redirect_gets_an_error_page_not_a_redirect(
    sandbox: RunningSandbox, browser: httpx.Client, overrides: dict[str, str]
) -> None:
    response = browser.get(authorize_url(sandbox, **overrides))
    assert response.status_code == 400 and "location" not in response.headers
    assert "AADSTS" in response.text and 'role="alert"' in response.text


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "", "code_challenge_method": ""}, "invalid_request"),
        ({"scope": "https://graph.microsoft.com/Sites.FullControl.All"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"prompt": "none"}, "login_required"),
    ],
)
def test_bad_authorize_requests_redirect_with_an_error(
    sandbox: RunningSandbox, browser: httpx.Client, overrides: dict[str, str], error: str
) -> None:
    params = _redirect_params(browser.get(authorize_url(sandbox, **overrides)))
    assert params["error"] == error and params["state"] == "xyz"
    assert params["error_description"].startswith("AADSTS")


def test_wrong_password_and_unknown_user_show_errors_on_the_page(
    sandbox: RunningSandbox, browser: httpx.Client
) -> None:
    page = browser.get(authorize_url(sandbox))
    target = f"{sandbox.info['http_base_url']}{form_action(page.text)}"
    for login, password, words in (
        (MEGAN, "nope", "incorrect"),
        ("nobody@lumenhall.example", sandbox.info["demo_password"], "find an account"),
    ):
        answer = browser.post(
            target, data={**hidden_fields(page.text), "loginfmt": login, "passwd": password}
        )
        assert answer.status_code == 400 and words in answer.text
        assert 'name="loginfmt"' in answer.text and 'name="passwd"' in answer.text


def test_cancel_on_consent_returns_access_denied(
    sandbox: RunningSandbox, browser: httpx.Client
) -> None:
    url = authorize_url(sandbox, prompt="consent")
    params = sign_in(
        browser,
        url,
        REDIRECT,
        username=MEGAN,
        password=sandbox.info["demo_password"],
        consent="cancel",
    )
    assert params["error"] == "access_denied" and params["error_subcode"] == "cancel"


def test_session_and_consent_are_remembered_and_codes_are_single_use(
    sandbox: RunningSandbox, browser: httpx.Client
) -> None:
    first = sign_in(
        browser,
        authorize_url(sandbox),
        REDIRECT,
        username=MEGAN,
        password=sandbox.info["demo_password"],
    )
    # Signed in and consented: the next authorize answers at once, without any page.
    second = _redirect_params(browser.get(authorize_url(sandbox, state="again")))
    assert second["state"] == "again" and second["code"] != first["code"]
    # prompt=login asks for the password again.
    assert 'name="passwd"' in browser.get(authorize_url(sandbox, prompt="login")).text
    assert redeem(sandbox, first["code"]).status_code == 200
    replay = redeem(sandbox, first["code"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert replay.json()["error_codes"] == [54005]
    wrong_verifier = redeem(sandbox, second["code"], code_verifier="x" * 50)
    assert wrong_verifier.json()["error_description"].startswith("AADSTS501481")


def test_codes_expire_after_ten_minutes(sandbox: RunningSandbox, browser: httpx.Client) -> None:
    answer = sign_in(
        browser,
        authorize_url(sandbox),
        REDIRECT,
        username=MEGAN,
        password=sandbox.info["demo_password"],
    )
    sandbox.control("POST", "/clock", json={"advance_seconds": 601})
    expired = redeem(sandbox, answer["code"])
    assert expired.status_code == 400 and expired.json()["error_codes"] == [70008]


def test_logout_ends_the_session_and_returns_to_the_app(
    sandbox: RunningSandbox, browser: httpx.Client
) -> None:
    sign_in(
        browser,
        authorize_url(sandbox),
        REDIRECT,
        username=MEGAN,
        password=sandbox.info["demo_password"],
    )
    logout = browser.get(
        f"{sandbox.info['http_base_url']}/{sandbox.tenant_id}/oauth2/v2.0/logout",
        params={"post_logout_redirect_uri": "http://127.0.0.1:8000/"},
    )
    assert logout.status_code == 302 and logout.headers["location"] == "http://127.0.0.1:8000/"
    silent = _redirect_params(browser.get(authorize_url(sandbox, prompt="none")))
    assert silent["error"] == "login_required"


def test_admin_consent_redirects_with_the_tenant(
    sandbox: RunningSandbox, browser: httpx.Client
) -> None:
    url = f"{sandbox.info['http_base_url']}/{sandbox.tenant_id}/adminconsent"
    query = {
        "client_id": sandbox.app("Comms Portal")["client_id"],
        "redirect_uri": REDIRECT,
        "state": "s1",
    }
    assert "Accept" in browser.get(url, params=query).text
    answer = _redirect_params(browser.post(url, params=query, data={"decision": "accept"}))
    assert answer == {"admin_consent": "True", "tenant": sandbox.tenant_id, "state": "s1"}


def test_metadata_puts_browser_endpoints_on_http_and_the_rest_on_https(
    sandbox: RunningSandbox, browser: httpx.Client
) -> None:
    metadata = browser.get(
        f"{sandbox.info['authority']}/v2.0/.well-known/openid-configuration"
    ).json()
    assert metadata["issuer"] == f"{sandbox.info['authority']}/v2.0"
    assert metadata["token_endpoint"].startswith("https://")
    assert metadata["jwks_uri"].startswith("https://")
    assert metadata["authorization_endpoint"].startswith(sandbox.info["http_base_url"])
    keys = browser.get(metadata["jwks_uri"]).json()["keys"]
    assert keys and keys[0]["kty"] == "RSA" and keys[0]["kid"]


def test_an_injected_fault_makes_the_signing_keys_unreachable_for_a_while(
    sandbox: RunningSandbox, browser: httpx.Client
) -> None:
    keys_url = f"{sandbox.info['authority']}/discovery/v2.0/keys"
    fault = {"path": "/*/discovery/v2.0/keys", "kind": "503", "count": 2, "retry_after": 0}
    assert sandbox.control("POST", "/faults", json=fault).status_code == 201
    try:
        statuses = [browser.get(keys_url).status_code for _ in range(3)]
    finally:
        sandbox.control("DELETE", "/faults")
    assert statuses == [503, 503, 200]
    assert browser.get(keys_url).json()["keys"]


def test_the_clock_can_be_reset_to_real_time(sandbox: RunningSandbox) -> None:
    before = sandbox.control("GET", "/clock").json()["timestamp"]
    ahead = sandbox.control("POST", "/clock", {"advance_seconds": 7200}).json()["timestamp"]
    assert ahead >= before + 7200
    back = sandbox.control("POST", "/clock", {"reset": True}).json()
    assert back["speed"] == 1.0
    assert back["timestamp"] < ahead - 7000
