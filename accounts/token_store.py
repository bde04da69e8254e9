"""The server-side token store: one MSAL cache per person (and one for the app), encrypted.

Views and Celery tasks alike get access tokens here, so background work can act as a person
who signed in through the browser. A person's cache is only read, refreshed and written
under a Redis lock, so two workers refreshing at once never lose the newer refresh token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import msal
import redis
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import transaction

from accounts.identity import APP_SCOPES, SIGN_IN_SCOPES, build_msal_app
from accounts.models import TokenCache, User
from accounts.roles import reread_admin_role
from comms_portal.redis_client import get_redis

logger = logging.getLogger(__name__)

APP_CACHE_KEY = "app"
LOCK_TIMEOUT_SECONDS = 60
# An access token this close to its end is not handed out from the cache (MSAL's own margin).
FRESH_FOR_SECONDS = 300
# Errors from the token endpoint that mean the refresh token will never work again.
DEAD_GRANT_ERRORS = {"invalid_grant", "interaction_required", "consent_required", "login_required"}


class ReauthRequired(Exception):
    """The person must sign in again; no background work can act for them until then."""


class TokenUnavailable(Exception):
    """A token could not be obtained for another reason (the authority is down, say)."""


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.TOKEN_ENCRYPTION_KEYS])


def encrypt(plaintext: str) -> bytes:
    """Encrypt with the first key of TOKEN_ENCRYPTION_KEYS."""
    return _fernet().encrypt(plaintext.encode())


def decrypt(ciphertext: bytes | memoryview) -> str:
    """Decrypt with whichever configured key fits; raise InvalidToken if none does."""
    return _fernet().decrypt(bytes(ciphertext)).decode()


def user_cache_key(user_id: int) -> str:
    return f"user:{user_id}"


@contextmanager
def _locked(cache_key: str) -> Iterator[None]:
    lock = get_redis().lock(
        f"portal:token-lock:{cache_key}", timeout=LOCK_TIMEOUT_SECONDS, blocking_timeout=30
    )
    try:
        acquired = lock.acquire()
    except redis.RedisError as exc:
        raise TokenUnavailable(f"the token lock is unavailable: {exc}") from exc
    if not acquired:
        raise TokenUnavailable("another process held the token lock for too long")
    try:
        yield
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            logger.warning("token lock for %s expired before release", cache_key)


def _load(cache_key: str) -> msal.SerializableTokenCache:
    return _cache_of(TokenCache.objects.filter(key=cache_key).first(), cache_key)


def _cache_of(row: TokenCache | None, cache_key: str) -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    if row is not None:
        try:
            cache.deserialize(decrypt(row.ciphertext))
        except InvalidToken:
            # Encrypted with a key no longer configured: the tokens are lost, not readable.
            logger.error("token cache %s cannot be decrypted with the configured keys", cache_key)
    return cache


def _save(cache_key: str, cache: msal.SerializableTokenCache, user: User | None) -> None:
    if not cache.has_state_changed:
        return
    ciphertext = encrypt(cache.serialize())
    with transaction.atomic():
        row, created = TokenCache.objects.select_for_update().get_or_create(
            key=cache_key, defaults={"user": user, "ciphertext": ciphertext, "version": 1}
        )
        if not created:
            row.ciphertext = ciphertext
            row.version += 1
            row.save(update_fields=["ciphertext", "version", "updated_at"])
    cache.has_state_changed = False


def save_sign_in(user: User, cache: msal.SerializableTokenCache) -> None:
    """Keep the tokens of a fresh sign-in, replacing the person's earlier cache."""
    cache.has_state_changed = True
    with _locked(user_cache_key(user.pk)):
        _save(user_cache_key(user.pk), cache, user)


def forget_user_tokens(user: User) -> None:
    """Delete a person's tokens (at sign-out, and when the tenant disables or removes them)."""
    with _locked(user_cache_key(user.pk)):
        TokenCache.objects.filter(key=user_cache_key(user.pk)).delete()


def mark_needs_reauth(user_id: int, reason: str) -> None:
    """Flag a person whose refresh token is dead, so pages ask them to sign in again."""
    User.objects.filter(pk=user_id).update(needs_reauth=True, needs_reauth_reason=reason[:500])


@dataclass(frozen=True)
class AccessToken:
    """An access token and when it stops working (monotonic seconds of this process)."""

    value: str
    expires_at: float
    scopes: tuple[str, ...]


def _token_from(result: dict[str, Any]) -> AccessToken:
    expires_in = float(result.get("expires_in") or 300)
    scope = result.get("scope") or ""
    scopes = tuple(scope.split()) if isinstance(scope, str) else tuple(scope)
    return AccessToken(str(result["access_token"]), time.monotonic() + expires_in, scopes)


def _stored_access_token(
    cache: msal.SerializableTokenCache, home_account_id: str, scopes: list[str]
) -> AccessToken | None:
    """Return an access token of the cache good for ``scopes`` and not yet due a refresh."""
    now = time.time()
    for entry in cache.search(
        msal.TokenCache.CredentialType.ACCESS_TOKEN,
        target=scopes,
        query={"client_id": settings.MICROSOFT_CLIENT_ID, "home_account_id": home_account_id},
    ):
        left = int(entry["expires_on"]) - now
        if left < FRESH_FOR_SECONDS or int(entry.get("refresh_on") or now + 1) <= now:
            continue
        target = str(entry.get("target") or "")
        return AccessToken(str(entry["secret"]), time.monotonic() + left, tuple(target.split()))
    return None


def acquire_user_token(
    user_id: int, scopes: list[str] | None = None, *, force_refresh: bool = False
) -> AccessToken:
    """Return a valid delegated access token for a person, refreshing it when needed."""
    wanted = scopes or SIGN_IN_SCOPES
    cache_key = user_cache_key(user_id)
    # The person comes with their stored cache in one query; without a cache, on their own.
    row = TokenCache.objects.select_related("user").filter(key=cache_key).first()
    if row is not None and row.user is not None and row.user.pk == user_id:
        user: User | None = row.user
    else:
        user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise ReauthRequired(f"there is no person {user_id}")
    if not user.is_active:
        raise ReauthRequired("the person's account is disabled in the tenant")
    if user.needs_reauth:
        raise ReauthRequired(user.needs_reauth_reason or "the person must sign in again")
    home_account_id = f"{user.object_id}.{user.tenant_id}"
    if not force_refresh:
        # Most calls find a good access token: reading it needs no lock, as only a refresh
        # (which replaces the stored cache) must not race another one.
        cached = _stored_access_token(_cache_of(row, cache_key), home_account_id, wanted)
        if cached is not None:
            return cached
    with _locked(cache_key):
        cache = _load(cache_key)
        app = build_msal_app(cache)
        account = next(
            (a for a in app.get_accounts() if a.get("home_account_id") == home_account_id), None
        )
        if account is None:
            reason = "no stored sign-in for this person"
            mark_needs_reauth(user_id, reason)
            raise ReauthRequired(reason)
        result = app.acquire_token_silent_with_error(
            wanted, account=account, force_refresh=force_refresh
        )
        _save(cache_key, cache, user)
    if result and "access_token" in result:
        # Only a refresh brings an id_token (one from the cache has none): its roles are
        # the tenant's current word on the admin role.
        if isinstance(result.get("id_token"), str):
            reread_admin_role(user, result["id_token"])
        return _token_from(result)
    error = (result or {}).get("error", "no_refresh_token")
    description = (result or {}).get("error_description", "")
    if result is None or error in DEAD_GRANT_ERRORS:
        reason = f"{error}: {description}".strip(": ")
        mark_needs_reauth(user_id, reason)
        raise ReauthRequired(reason)
    raise TokenUnavailable(f"{error}: {description}")


def acquire_app_token(*, force_refresh: bool = False) -> AccessToken:
    """Return the app's own access token (client credentials), for app-only Graph calls."""
    with _locked(APP_CACHE_KEY):
        cache = _load(APP_CACHE_KEY)
        app = build_msal_app(cache)
        if force_refresh:
            # Client-credential tokens have no refresh token: forget the cached one instead.
            for item in cache.find(msal.TokenCache.CredentialType.ACCESS_TOKEN):
                cache.remove_at(item)
        result = app.acquire_token_for_client(scopes=APP_SCOPES)
        _save(APP_CACHE_KEY, cache, None)
    if result and "access_token" in result:
        return _token_from(result)
    error = (result or {}).get("error", "unknown_error")
    raise TokenUnavailable(f"{error}: {(result or {}).get('error_description', '')}")


def rotate_encryption() -> int:
    """Re-encrypt every stored cache with the first configured key; return how many."""
    fernet = _fernet()
    count = 0
    for row in TokenCache.objects.all().iterator():
        with _locked(row.key), transaction.atomic():
            fresh = TokenCache.objects.select_for_update().get(pk=row.pk)
            fresh.ciphertext = fernet.rotate(bytes(fresh.ciphertext))
            fresh.version += 1
            fresh.save(update_fields=["ciphertext", "version", "updated_at"])
            count += 1
    return count
