"""The one in-memory state object every part of the sandbox reads and changes."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import HTTPConnection

from sandbox.certs import SigningKey
from sandbox.clock import SandboxClock
from sandbox.graph.faults import FaultTable
from sandbox.graph.throttle import Throttle
from sandbox.tenant import Tenant


@dataclass
class AuthorizationCode:
    """A code issued by the authorize endpoint, redeemable once within its lifetime."""

    client_id: str
    redirect_uri: str
    user_id: str
    tenant_id: str  # the tenant whose tokens are issued (the person's home tenant)
    scopes: tuple[str, ...]  # as the client asked for them
    code_challenge: str
    nonce: str | None
    expires_at: float
    auth_time: float


@dataclass
class RefreshGrant:
    """What a refresh token stands for; rotated on every use."""

    client_id: str
    user_id: str
    tenant_id: str
    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float


@dataclass
class SignInSession:
    """A browser's signed-in session with the sandbox identity provider."""

    user_id: str
    auth_time: float


@dataclass
class PendingAuthorization:
    """An authorize request waiting for the person to sign in or consent."""

    client_id: str
    redirect_uri: str
    tenant_segment: str  # the tenant path segment the request came in on
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    response_mode: str
    prompt: str | None
    login_hint: str | None
    user_id: str | None = None  # set once the person has signed in
    auth_time: float = 0.0


@dataclass
class TokenStores:
    """Authorization codes, refresh tokens, consents and sign-in sessions."""

    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    redeemed_codes: set[str] = field(default_factory=set)
    refresh_tokens: dict[str, RefreshGrant] = field(default_factory=dict)
    # Refresh tokens already exchanged or revoked, with the reason, so reuse gets Entra's error.
    spent_refresh_tokens: dict[str, str] = field(default_factory=dict)
    # (user_id, client_id) -> consented scope names, lowercase and without resource prefix.
    consents: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    sessions: dict[str, SignInSession] = field(default_factory=dict)
    pending: dict[str, PendingAuthorization] = field(default_factory=dict)

    def revoke_user(self, user_id: str) -> int:
        """Revoke every refresh token and sign-in session of one person; return the count."""
        revoked = [
            token for token, grant in self.refresh_tokens.items() if grant.user_id == user_id
        ]
        for token in revoked:
            del self.refresh_tokens[token]
            self.spent_refresh_tokens[token] = "revoked"
        for session_id in [s for s, session in self.sessions.items() if session.user_id == user_id]:
            del self.sessions[session_id]
        return len(revoked)


@dataclass
class Endpoints:
    """The base URLs the sandbox is reachable at, known once the listeners are bound."""

    http_base: str = "http://127.0.0.1:8400"
    https_base: str = "https://127.0.0.1:8401"

    def issuer(self, tenant_id: str) -> str:
        """Return the token issuer for ``tenant_id`` (Entra v2.0 style, on https)."""
        return f"{self.https_base}/{tenant_id}/v2.0"


@dataclass
class SandboxState:
    """Everything the running sandbox knows. Resource areas add their own stores as attributes."""

    clock: SandboxClock
    tenant: Tenant
    signing_key: SigningKey
    state_dir: Path
    ca_bundle: Path
    endpoints: Endpoints = field(default_factory=Endpoints)
    tokens: TokenStores = field(default_factory=TokenStores)
    faults: FaultTable = field(default_factory=FaultTable)
    throttle: Throttle = field(default_factory=Throttle)
    access_token_lifetime: int = 3599
    # Guards the stores above against the delivery worker and other threads.
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Other areas hang their own stores here when they do not warrant an attribute.
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def keys(self) -> list[SigningKey]:
        """Return the signing keys published in the JWKS (one today)."""
        return [self.signing_key]


def state_of(connection: HTTPConnection) -> SandboxState:
    """Return the sandbox state attached to the running app."""
    state: SandboxState = connection.app.state.sandbox
    return state
