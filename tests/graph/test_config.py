"""Settings are checked on creation, and clients share one pool per Graph and CA bundle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from comms_portal.graph import (
    GraphClient,
    GraphSettings,
    RetryPolicy,
    close_shared_http_clients,
    generate_encryption_certificate,
    shared_http_client,
)

SANDBOX_URL = "https://127.0.0.1:8443/v1.0"


@pytest.fixture
def ca_bundle(tmp_path: Path) -> str:
    path = tmp_path / "sandbox-ca.pem"
    path.write_bytes(generate_encryption_certificate().certificate_pem)
    return str(path)


@pytest.fixture(autouse=True)
def fresh_pool() -> Iterator[None]:
    close_shared_http_clients()
    yield
    close_shared_http_clients()


def test_clients_for_the_same_graph_share_one_pool(ca_bundle: str) -> None:
    settings = GraphSettings(base_url=SANDBOX_URL, verify=ca_bundle)

    adele = GraphClient(settings, lambda: "adele-token")
    megan = GraphClient(GraphSettings(base_url=SANDBOX_URL + "/", verify=ca_bundle), lambda: "t")

    assert shared_http_client(settings) is shared_http_client(settings)
    assert adele._http is megan._http
    assert adele._http is shared_http_client(settings)
    # Closing a client that uses the shared pool leaves the pool open for the others.
    adele.close()
    assert not megan._http.is_closed


def test_another_graph_or_ca_bundle_gets_its_own_pool(ca_bundle: str) -> None:
    sandbox = shared_http_client(GraphSettings(base_url=SANDBOX_URL, verify=ca_bundle))
    microsoft = shared_http_client(GraphSettings())
    assert sandbox is not microsoft
    assert str(sandbox.base_url) == SANDBOX_URL + "/"
    assert str(microsoft.base_url) == "https://graph.microsoft.com/v1.0/"


def test_a_closed_pool_is_replaced() -> None:
    first = shared_http_client(GraphSettings())
    close_shared_http_clients()
    assert first.is_closed
    assert not shared_http_client(GraphSettings()).is_closed


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"base_url": "graph.microsoft.com/v1.0"}, "http\\(s\\) URL"),
        ({"base_url": "ftp://graph.microsoft.com/v1.0"}, "http\\(s\\) URL"),
        ({"base_url": "https://graph.microsoft.com/v1.0?x=1"}, "query"),
        ({"verify": False}, "cannot be turned off"),
        ({"verify": "no-such-bundle.pem"}, "names no CA bundle"),
        ({"read_timeout": 0}, "positive"),
        ({"max_connections": 0}, "connection limits"),
    ],
)
def test_nonsense_settings_are_refused(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GraphSettings(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_total_wait": -1}, "max_total_wait"),
        ({"backoff_base": 2, "backoff_max": 1}, "backoff"),
    ],
)
def test_nonsense_retry_policies_are_refused(arguments: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**arguments)  # type: ignore[arg-type]
