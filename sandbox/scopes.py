"""Scopes as clients write them, mapped to Graph permission names."""

from __future__ import annotations

from sandbox.tenant import GRAPH_APP_ID, GRAPH_RESOURCE, OIDC_SCOPES, App

_GRAPH_PREFIXES = (GRAPH_RESOURCE + "/", GRAPH_APP_ID + "/")


class ScopeError(ValueError):
    """A requested scope the sandbox cannot grant; the message names it."""


def split_scopes(raw: str | None) -> list[str]:
    """Split a space-separated scope parameter, keeping the client's spelling and order."""
    return [scope for scope in (raw or "").split() if scope]


def graph_permission(scope: str) -> str | None:
    """Return the Graph permission a scope names, or None for OpenID Connect scopes."""
    if scope.lower() in OIDC_SCOPES:
        return None
    for prefix in _GRAPH_PREFIXES:
        if scope.lower().startswith(prefix.lower()):
            return scope[len(prefix) :]
    if "/" in scope or ":" in scope:
        raise ScopeError(f"The scope '{scope}' is not valid: only Microsoft Graph is served here.")
    return scope


def delegated_permissions(app: App, scopes: list[str]) -> list[str]:
    """Return the Graph permissions the scopes grant; raise ScopeError for unregistered ones."""
    registered = {name.lower(): name for name in app.delegated if name.lower() not in OIDC_SCOPES}
    granted: list[str] = []
    for scope in scopes:
        permission = graph_permission(scope)
        if permission is None:
            continue
        if permission == ".default":
            granted.extend(name for name in registered.values() if name not in granted)
            continue
        name = registered.get(permission.lower())
        if name is None:
            raise ScopeError(
                f"The application '{app.name}' asked for '{scope}', which is not among "
                "its configured permissions."
            )
        if name not in granted:
            granted.append(name)
    return granted
