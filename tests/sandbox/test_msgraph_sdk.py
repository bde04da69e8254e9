"""Microsoft's msgraph-sdk against the sandbox: paging through users, reading one, a $batch."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as graph_options
from msgraph_core import GraphClientFactory

from tests.sandbox.conftest import MEGAN, app_token, live_user_count
from tests.support.sandbox import RunningSandbox

T = TypeVar("T")


class SandboxTokens(AccessTokenProvider):
    """Fetch a fresh app-only token for every request (the sandbox clock may jump)."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return await asyncio.to_thread(app_token, self.sandbox)

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["127.0.0.1"])


def run_with_client(
    sandbox: RunningSandbox, work: Callable[[GraphServiceClient], Awaitable[T]]
) -> T:
    """Build a Graph client on https trusting the sandbox CA, run ``work`` with it."""

    async def main() -> T:
        context = ssl.create_default_context(cafile=sandbox.ca_bundle)
        http = httpx.AsyncClient(verify=context, trust_env=False)
        http = GraphClientFactory.create_with_default_middleware(client=http, options=graph_options)
        adapter = GraphRequestAdapter(
            BaseBearerTokenAuthenticationProvider(SandboxTokens(sandbox)), client=http
        )
        adapter.base_url = sandbox.graph_base_url  # no trailing slash
        try:
            return await work(GraphServiceClient(request_adapter=adapter))
        finally:
            await http.aclose()

    return asyncio.run(main())


def test_sdk_lists_users_page_by_page(sandbox: RunningSandbox, graph: httpx.Client) -> None:
    async def work(client: GraphServiceClient) -> list[str]:
        config = RequestConfiguration(
            query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
                top=20, select=["id", "displayName", "userPrincipalName"]
            )
        )
        page = await client.users.get(request_configuration=config)
        names: list[str] = []
        while page is not None:
            names += [user.user_principal_name or "" for user in page.value or []]
            if not page.odata_next_link:
                break
            page = await client.users.with_url(page.odata_next_link).get()
        return names

    names = run_with_client(sandbox, work)
    assert len(names) == len(set(names)) == live_user_count(sandbox, graph)
    assert MEGAN in names


def test_sdk_reads_one_user_with_its_manager(sandbox: RunningSandbox) -> None:
    priya = sandbox.user("priya.natarajan@lumenhall.example")

    async def work(client: GraphServiceClient) -> tuple[Any, Any]:
        user = await client.users.by_user_id(priya["userPrincipalName"]).get()
        manager = await client.users.by_user_id(priya["id"]).manager.get()
        return user, manager

    user, manager = run_with_client(sandbox, work)
    assert user.id == priya["id"] and user.job_title == "Head of Engineering"
    assert (
        manager.additional_data.get(
            "userPrincipalName", getattr(manager, "user_principal_name", None)
        )
        == MEGAN
    )


def test_sdk_client_runs_a_batch(sandbox: RunningSandbox) -> None:
    megan = sandbox.user(MEGAN)["id"]

    async def work(client: GraphServiceClient) -> dict[str, int]:
        # The SDK's own httpx client, with Graph's middleware, posts the JSON batch.
        http: httpx.AsyncClient = client.request_adapter._http_client  # type: ignore[attr-defined]
        token = await SandboxTokens(sandbox).get_authorization_token(sandbox.graph_base_url)
        response = await http.post(
            f"{sandbox.graph_base_url}/$batch",
            json={
                "requests": [
                    {"id": "megan", "method": "GET", "url": f"/users/{megan}"},
                    {"id": "ghost", "method": "GET", "url": "/users/not-a-real-user"},
                    {
                        "id": "boss",
                        "method": "GET",
                        "url": f"/users/{megan}/directReports",
                        "dependsOn": ["megan"],
                    },
                ]
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200
        return {item["id"]: item["status"] for item in response.json()["responses"]}

    assert run_with_client(sandbox, work) == {"megan": 200, "ghost": 404, "boss": 200}
