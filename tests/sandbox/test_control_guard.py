"""The control API refuses what a web page elsewhere could send it through a browser."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.sandbox.conftest import ca_context
from tests.support.sandbox import RunningSandbox


@pytest.fixture
def control(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """A plain client of the control API on the http listener, as scripts use it."""
    with httpx.Client(base_url=sandbox.info["control_url"], trust_env=False) as client:
        yield client


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def _refused(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 403, response.text
    assert fragment in response.json()["error"]
    assert "client_secret" not in response.text


def _clock(sandbox: RunningSandbox) -> float:
    return float(sandbox.control("GET", "/clock").json()["timestamp"])


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example:{port}",  # a rebound name resolving to 127.0.0.1
        "attacker.example",
        "127.0.0.1:{other}",
        "localhost",
        "127.0.0.1:{port}@attacker.example",
        "",
    ],
)
def test_a_foreign_host_is_refused(
    sandbox: RunningSandbox, control: httpx.Client, host: str
) -> None:
    port = _port(sandbox.info["control_url"])
    header = host.format(port=port, other=port + 7)
    before = _clock(sandbox)

    info = control.get("/info", headers={"Host": header})
    moved = control.post("/clock", headers={"Host": header}, json={"advance_seconds": 3600})

    _refused(info, "Host")
    _refused(moved, "Host")
    assert _clock(sandbox) - before < 3600


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}"])
def test_loopback_names_with_the_sandboxs_port_are_served(
    sandbox: RunningSandbox, control: httpx.Client, host: str
) -> None:
    port = _port(sandbox.info["control_url"])
    response = control.get("/info", headers={"Host": host.format(port=port)})
    assert response.status_code == 200, response.text
    assert response.json()["tenant_id"] == sandbox.tenant_id


@pytest.mark.parametrize(
    "origin",
    [
        "https://attacker.example",
        "http://attacker.example:{port}",
        "null",
        "http://127.0.0.1:{other}",
        "https://127.0.0.1:{port}",
    ],
)
def test_a_request_from_a_page_of_another_origin_is_refused(
    sandbox: RunningSandbox, control: httpx.Client, origin: str
) -> None:
    port = _port(sandbox.info["control_url"])
    header = origin.format(port=port, other=port + 7)
    before = _clock(sandbox)

    info = control.get("/info", headers={"Origin": header})
    moved = control.post("/clock", headers={"Origin": header}, json={"advance_seconds": 3600})

    _refused(info, "origin")
    _refused(moved, "origin")
    assert _clock(sandbox) - before < 3600


def test_the_sandboxs_own_origin_is_served(sandbox: RunningSandbox, control: httpx.Client) -> None:
    port = _port(sandbox.info["control_url"])
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        response = control.get("/info", headers={"Origin": origin})
        assert response.status_code == 200, response.text


def test_the_https_listener_guards_its_control_api_by_its_own_port_and_scheme(
    sandbox: RunningSandbox,
) -> None:
    base = sandbox.info["https_base_url"]
    port, http_port = _port(base), _port(sandbox.info["control_url"])
    with httpx.Client(base_url=base, verify=ca_context(sandbox), trust_env=False) as client:
        assert client.get("/_sandbox/info").status_code == 200
        assert client.get("/_sandbox/info", headers={"Origin": base}).status_code == 200
        plain = client.get("/_sandbox/info", headers={"Origin": f"http://127.0.0.1:{http_port}"})
        _refused(plain, "origin")
        _refused(client.get("/_sandbox/info", headers={"Host": f"127.0.0.1:{http_port}"}), "Host")
    assert port != http_port


def test_scripts_without_an_origin_keep_working(sandbox: RunningSandbox) -> None:
    # The test support, the demo launcher and the benchmarks call it like this.
    assert sandbox.control("GET", "/info").status_code == 200
    assert sandbox.control("GET", "/throttling").status_code == 200


def test_graph_itself_is_not_restricted_by_origin(
    sandbox: RunningSandbox, graph: httpx.Client
) -> None:
    # Only the control API is guarded; Graph answers browsers of any origin.
    response = graph.get("users", headers={"Origin": "https://attacker.example"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
