"""The info document: where the sandbox listens and what the tenant holds."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sandbox.calls.area import calling_info, calls_of
from sandbox.state import SandboxState
from sandbox.tenant import DEMO_PASSWORD, User

LISTED_USERS = 200  # larger tenants list only the first ones, plus the count


def _user_info(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "userPrincipalName": user.user_principal_name,
        "displayName": user.display_name,
        "password": DEMO_PASSWORD,
        "roles": list(user.roles),
        "department": user.department,
        "jobTitle": user.job_title,
        "isServiceAccount": user.is_service_account,
    }


def build_info(state: SandboxState) -> dict[str, Any]:
    """Return the JSON a launcher, a test or a script needs to use the sandbox."""
    tenant = state.tenant
    https, http = state.endpoints.https_base, state.endpoints.http_base
    other = tenant.other_users[0]
    return {
        "authority": f"{https}/{tenant.tenant_id}",
        "graph_base_url": f"{https}/v1.0",
        "beta_base_url": f"{https}/beta",
        "http_base_url": http,
        "https_base_url": https,
        "control_url": f"{http}/_sandbox",
        "ca_bundle": str(state.ca_bundle.resolve()),
        "tenant_id": tenant.tenant_id,
        "tenant_domain": tenant.domain,
        "demo_password": DEMO_PASSWORD,
        "portal_client_id": tenant.portal_client_id,
        "limited_client_id": tenant.limited_client_id,
        "apps": [app.to_info() for app in tenant.apps.values()],
        "user_count": len(tenant.users),
        "users": [_user_info(user) for user in tenant.users[:LISTED_USERS]],
        "other_tenant": {"tenant_id": tenant.other_tenant_id, "users": [_user_info(other)]},
        "calling": calling_info(calls_of(state)),
        "pid": os.getpid(),
    }


def write_info_file(path: Path, info: dict[str, Any]) -> None:
    """Write ``info`` to ``path`` atomically, so a reader never sees half a file."""
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as stream:
        json.dump(info, stream, indent=2)
    os.replace(temp_name, path)
