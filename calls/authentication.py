"""Checking the bearer token of the calling platform's callbacks, and refusing replays.

As Microsoft's calling samples check it: the keys come from the platform's OpenID
configuration (read again daily, and at once, within limits, when a token names a key id not
seen yet, so rotated keys are picked up); the signature must hold with one of them, the token
must not be expired, its issuer must be the platform's, its audience the bot's app id and its
``tid`` a tenant of ours. A body already taken with the same token is a replay and refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from django.conf import settings

logger = logging.getLogger(__name__)

LEEWAY_SECONDS = 300
FETCH_TIMEOUT_SECONDS = 5.0
REPLAY_KEY_PREFIX = "portal:calls:callback-seen:"
# Tokens last an hour; a replay is remembered at least that long.
REPLAY_KEEP_SECONDS = 2 * 3600


class KeysUnavailable(Exception):
    """The platform's keys could not be read."""


@dataclass
class _KeyCache:
    keys: dict[str, Any] = field(default_factory=dict)
    fetched_at: float = 0.0  # monotonic
    last_attempt: float = -1e9


_cache = _KeyCache()
# Tokens whose signature and claims held, by their SHA-256, with their expiry (epoch seconds):
# the platform signs a token once and sends it with many callbacks, and checking an RS256
# signature costs more than the rest of the intake together.
_verified: dict[bytes, float] = {}
VERIFIED_MAX = 10_000
# One read of the keys at a time per event loop; the others wait for it.
_fetch_locks: dict[int, asyncio.Lock] = {}


def forget_keys() -> None:
    """Drop the cached keys (tests; a restart does the same)."""
    global _cache
    _cache = _KeyCache()
    _verified.clear()


async def _fetch_keys() -> dict[str, Any]:
    verify: ssl.SSLContext | bool = True
    if settings.GRAPH_CA_BUNDLE:
        verify = ssl.create_default_context(cafile=settings.GRAPH_CA_BUNDLE)
    async with httpx.AsyncClient(
        verify=verify, timeout=FETCH_TIMEOUT_SECONDS, trust_env=False
    ) as client:
        configuration = (await client.get(settings.CALLS_PLATFORM_OPENID_CONFIGURATION)).json()
        jwks_uri = configuration.get("jwks_uri") if isinstance(configuration, dict) else None
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith("https://"):
            raise KeysUnavailable("the OpenID configuration names no https jwks_uri")
        document = (await client.get(jwks_uri)).json()
    keys: dict[str, Any] = {}
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        try:
            keys[str(entry["kid"])] = jwt.PyJWK(entry).key
        except (KeyError, jwt.PyJWKError) as error:
            logger.warning("calling platform key skipped: %s", error)
    return keys


def _should_fetch(kid: str, now: float) -> bool:
    stale = now - _cache.fetched_at > settings.CALLS_KEYS_CACHE_SECONDS
    unknown = kid not in _cache.keys
    may_fetch = now - _cache.last_attempt >= settings.CALLS_KEYS_MIN_REFRESH_SECONDS
    return (stale or unknown) and may_fetch


def _fetch_lock() -> asyncio.Lock:
    """Return this event loop's lock around reading the keys."""
    loop = asyncio.get_running_loop()
    lock = _fetch_locks.get(id(loop))
    if lock is None:
        lock = _fetch_locks[id(loop)] = asyncio.Lock()
    return lock


async def signing_key(kid: str) -> Any | None:
    """Return the platform's public key ``kid``, reading the keys again when needed.

    Callbacks that come while the keys are being read wait for that read (a fresh process
    gets many at once), rather than being refused for a key not known yet.
    """
    if not _should_fetch(kid, time.monotonic()) and not _fetch_lock().locked():
        return _cache.keys.get(kid)
    async with _fetch_lock():
        now = time.monotonic()
        if _should_fetch(kid, now):
            _cache.last_attempt = now
            try:
                _keep(await _fetch_keys(), now)
            except (httpx.HTTPError, ValueError, KeysUnavailable) as error:
                logger.error("calling platform keys not read: %s", error)
    return _cache.keys.get(kid)


def _keep(keys: dict[str, Any], now: float) -> None:
    if keys.keys() != _cache.keys.keys():
        # A key withdrawn takes the tokens it signed with it.
        _verified.clear()
    _cache.keys = keys
    _cache.fetched_at = now


async def warm_up() -> bool:
    """Read the platform's keys ahead of the first callback; False when they could not be read.

    A failure here is only logged, and leaves the first callback free to read them itself
    (the refresh limit is not spent), so a platform unreachable at start costs nothing later.
    """
    async with _fetch_lock():
        now = time.monotonic()
        if _cache.keys and now - _cache.fetched_at <= settings.CALLS_KEYS_CACHE_SECONDS:
            return True
        try:
            keys = await _fetch_keys()
        except (httpx.HTTPError, ValueError, KeysUnavailable) as error:
            logger.warning("calling platform keys not read ahead: %s", error)
            return False
        _cache.last_attempt = now
        _keep(keys, now)
    return True


async def authenticate(authorization: str | None, body: bytes) -> str | None:
    """Return why a callback must be refused, or None when its token holds.

    Whether it is new is checked as it is queued (``replay_key``), in the same Redis step.
    """
    if not authorization or not authorization.startswith("Bearer "):
        return "no bearer token"
    token = authorization.removeprefix("Bearer ").strip()
    digest = hashlib.sha256(token.encode()).digest()
    expires = _verified.get(digest)
    if expires is None or time.time() > expires + LEEWAY_SECONDS:
        return await _verify(token, digest)
    return None


async def _verify(token: str, digest: bytes) -> str | None:
    """Check the token's signature and claims; remember it until it expires when they hold."""
    _verified.pop(digest, None)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        return f"malformed token: {error}"
    if header.get("alg") != "RS256":
        return f"token algorithm {header.get('alg')!r} is not RS256"
    key = await signing_key(str(header.get("kid", "")))
    if key is None:
        return f"token signed by an unknown key {str(header.get('kid'))[:40]!r}"
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=settings.CALLS_BOT_APP_ID,
            issuer=list(settings.CALLS_CALLBACK_ISSUERS),
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud", "tid"]},
        )
    except jwt.ExpiredSignatureError:
        return "token expired"
    except jwt.InvalidAudienceError:
        return "token for another audience"
    except jwt.InvalidIssuerError:
        return "token from another issuer"
    except jwt.InvalidTokenError as error:
        return f"token refused: {type(error).__name__}: {error}"
    if claims.get("tid") not in settings.ALLOWED_TENANTS:
        return f"token for another tenant {str(claims.get('tid'))[:40]!r}"
    if len(_verified) >= VERIFIED_MAX:
        _verified.clear()
    _verified[digest] = float(claims["exp"])
    return None


def replay_key(authorization: str | None, body: bytes) -> str | None:
    """Name a callback by its token and body: the same pair a second time is a replay."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    token = authorization.removeprefix("Bearer ").strip()
    return REPLAY_KEY_PREFIX + hashlib.sha256(token.encode() + b"\n" + body).hexdigest()
