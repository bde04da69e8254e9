"""The running sandbox, shared by the sandbox tests, plus token helpers."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import msal
import pytest
import requests

from tests.support.entra_signin import sign_in
from tests.support.sandbox import RunningSandbox, start_sandbox

GRAPH_DEFAULT = "https://graph.microsoft.com/.default"
MEGAN = "megan.reyes@lumenhall.example"  # CEO, portal admin
PRIYA = "priya.natarajan@lumenhall.example"  # head of engineering


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """Start one sandbox for the whole session."""
    running = start_sandbox(tmp_path_factory.mktemp("sandbox-state"))
    yield running
    running.stop()


def ca_context(sandbox: RunningSandbox) -> ssl.SSLContext:
    """Return an SSL context trusting only the sandbox's certificate."""
    return ssl.create_default_context(cafile=sandbox.ca_bundle)


def trusting_session(ca_bundle: str) -> requests.Session:
    """Return a requests session that trusts the sandbox CA and ignores *_CA_BUNDLE variables."""
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify (psf/requests#3829)
    session.verify = ca_bundle
    return session


def msal_app(
    sandbox: RunningSandbox, name: str = "Comms Portal", *, authority: str | None = None
) -> msal.ConfidentialClientApplication:
    """Return a fresh MSAL confidential client for an app of the sandbox tenant."""
    app = sandbox.app(name)
    return msal.ConfidentialClientApplication(
        app["client_id"],
        client_credential=app["client_secret"],
        authority=authority or sandbox.info["authority"],
        instance_discovery=False,
        http_client=trusting_session(sandbox.ca_bundle),
    )


@pytest.fixture
def graph(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """An httpx client for the Graph base URL, trusting the sandbox CA."""
    with httpx.Client(
        base_url=sandbox.graph_base_url + "/", verify=ca_context(sandbox), trust_env=False
    ) as client:
        yield client


def app_token(sandbox: RunningSandbox, name: str = "Comms Portal") -> str:
    """Return an app-only Graph token for ``name`` from the client credentials grant."""
    result = msal_app(sandbox, name).acquire_token_for_client(scopes=[GRAPH_DEFAULT])
    assert "access_token" in result, result
    return str(result["access_token"])


def user_token_result(
    sandbox: RunningSandbox,
    upn: str,
    scopes: list[str],
    *,
    app_name: str = "Comms Portal",
    response_mode: str = "form_post",
    authority: str | None = None,
) -> tuple[msal.ConfidentialClientApplication, dict[str, Any]]:
    """Sign ``upn`` in through the pages (no browser) and redeem the code with MSAL."""
    app = msal_app(sandbox, app_name, authority=authority)
    redirect_uri = "http://127.0.0.1:8000/accounts/callback"
    flow = app.initiate_auth_code_flow(
        scopes, redirect_uri=redirect_uri, login_hint=upn, response_mode=response_mode
    )
    with httpx.Client(verify=ca_context(sandbox), trust_env=False) as browser:
        answer = sign_in(
            browser,
            flow["auth_uri"],
            redirect_uri,
            username=upn,
            password=sandbox.info["demo_password"],
        )
    result = app.acquire_token_by_auth_code_flow(flow, answer)
    return app, result


def bearer(token: str) -> dict[str, str]:
    """Return the Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


def live_user_count(sandbox: RunningSandbox, graph: httpx.Client) -> int:
    """Return how many users the directory holds now (other tests may delete some)."""
    response = graph.get(
        "users",
        params={"$count": "true", "$top": "1", "$select": "id"},
        headers={**bearer(app_token(sandbox)), "ConsistencyLevel": "eventual"},
    )
    return int(response.json()["@odata.count"])
