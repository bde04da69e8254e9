"""Every documented presence example: same status, property names and JSON types."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import bearer
from tests.sandbox.presence.conftest import Tokens, force, user_id
from tests.support.cast import LENA, MARCUS, MEGAN
from tests.support.examples import example_names, load_example, shape_differences
from tests.support.sandbox import RunningSandbox

# The people the documentation's examples are about, played by our cast.
DOCUMENTED_PEOPLE = {
    "fa8bf3dc-eca7-46b7-bad1-db199b62afc3": LENA,
    "66825e03-7ef5-42da-9069-724602c31f6b": MARCUS,
    "dc74d9bb-6afe-433d-8eaa-e39d80d3a647": MARCUS,
}
DOCUMENTED_APP = "22553876-f5ab-4529-bffb-cfe50aa89f87"


def _ours(sandbox: RunningSandbox, text: str) -> str:
    for documented, upn in DOCUMENTED_PEOPLE.items():
        text = text.replace(documented, user_id(sandbox, upn))
    return text.replace(DOCUMENTED_APP, str(sandbox.app("Comms Portal")["client_id"]))


def _call(
    sandbox: RunningSandbox, clients: dict[str, httpx.Client], token: str, example: dict[str, Any]
) -> httpx.Response:
    url = _ours(sandbox, example["url"])
    version, _, path = url.removeprefix("https://graph.microsoft.com/").partition("/")
    request = example["request"]
    body = None if request is None else json.loads(_ours(sandbox, json.dumps(request)))
    return clients[version].request(example["method"], path, headers=bearer(token), json=body)


@pytest.mark.parametrize("name", example_names("presence-"))
def test_documented_presence_example(
    presence_sandbox: RunningSandbox,
    graph: httpx.Client,
    beta: httpx.Client,
    tokens: Tokens,
    name: str,
) -> None:
    example = load_example(name)
    clients = {"v1.0": graph, "beta": beta}
    lena = user_id(presence_sandbox, LENA)
    # Someone to see: Lena is in Teams, and the clearPresence example needs our session.
    force(presence_sandbox, lena, "Available", "Available")
    if name == "presence-clearpresence.request.json":
        session = load_example("presence-setpresence.request.json")
        assert _call(presence_sandbox, clients, tokens.app(), session).status_code == 200
    if name == "presence-get-other-user-with-statusmessage.response.json":
        # The page's example 3 reads what its example 2 set, on behalf of another person.
        message = load_example("presence-setstatusmessage-no-expiry.request.json")
        assert _call(presence_sandbox, clients, tokens.app(), message).status_code == 200
        token = tokens.user(MEGAN)
    else:
        token = tokens.user(LENA) if "/me/" in example["url"] else tokens.app()
    response = _call(presence_sandbox, clients, token, example)
    assert response.status_code == example["status"], response.text
    documented = example["response"]
    if documented is None:
        assert response.content == b""
        return
    if name == "presence-get-communications.response.json":
        # That page printed a value[] wrapper around one presence; the single-object form is
        # what the service answers (see the example's note and the beta page).
        documented = documented["value"][0]
    assert shape_differences(response.json(), documented) == []
    if name == "presence-get-other-user-with-statusmessage.response.json":
        assert set(response.json()["statusMessage"]) == {"message"}
