"""The encrypted token store, as background work uses it."""

from __future__ import annotations

import threading

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from pytest_django.fixtures import Settings

from accounts import token_store
from accounts.graph_clients import graph_for_app, graph_for_user
from accounts.models import TokenCache, User
from accounts.token_store import ReauthRequired, acquire_user_token
from comms_portal.graph import users
from comms_portal.redis_client import get_redis
from tests.support.cast import GRACE, MARCUS, PRIYA, SAMUEL, TOMAS
from tests.support.portal_signin import sign_in_person
from tests.support.session_sandbox import clock_moved, control

pytestmark = pytest.mark.django_db(transaction=True)


def test_background_work_calls_graph_as_the_person() -> None:
    user = sign_in_person(PRIYA)
    me = users.get_me(graph_for_user(user.pk))
    assert me.id == user.object_id
    assert me.display_name == "Priya Natarajan"


def test_an_expired_access_token_is_refreshed_silently() -> None:
    user = sign_in_person(SAMUEL)
    graph = graph_for_user(user.pk)
    assert users.get_me(graph).id == user.object_id
    # Two hours later for the authority: the cached access token is dead, the refresh
    # token is not, and the client gets a new one without the person noticing.
    with clock_moved(2 * 3600):
        assert users.get_me(graph).id == user.object_id
    user.refresh_from_db()
    assert not user.needs_reauth


def test_two_workers_refreshing_at_once_keep_a_working_refresh_token() -> None:
    user = sign_in_person(TOMAS)
    tokens: list[str] = []
    failures: list[BaseException] = []

    def refresh() -> None:
        try:
            tokens.append(acquire_user_token(user.pk, force_refresh=True).value)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()  # each thread has its own database connection

    workers = [threading.Thread(target=refresh) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert failures == []
    assert len(set(tokens)) == 4  # each worker really redeemed a refresh token
    user.refresh_from_db()
    assert not user.needs_reauth
    # The refresh token left in the store is the newest one: it still works.
    assert acquire_user_token(user.pk, force_refresh=True).value not in tokens


def test_a_revoked_refresh_token_flags_the_person_and_stops_retrying() -> None:
    user = sign_in_person(GRACE)
    control("POST", "/tokens/revoke", {"user_id": user.object_id})
    with pytest.raises(ReauthRequired):
        acquire_user_token(user.pk, force_refresh=True)
    user.refresh_from_db()
    assert user.needs_reauth
    assert "invalid_grant" in user.needs_reauth_reason
    # Flagged people are refused at once, without another round trip to the authority.
    with pytest.raises(ReauthRequired):
        acquire_user_token(user.pk)


def test_signing_in_again_clears_the_flag() -> None:
    user = sign_in_person(MARCUS)
    User.objects.filter(pk=user.pk).update(needs_reauth=True, needs_reauth_reason="test")
    again = sign_in_person(MARCUS)
    assert not again.needs_reauth
    assert acquire_user_token(again.pk).value


def test_the_app_token_reads_the_directory() -> None:
    person = next(users.list_users(graph_for_app(), page_size=5))
    assert person.id and person.display_name
    assert TokenCache.objects.filter(key=token_store.APP_CACHE_KEY, user=None).exists()


def test_rotating_keys_keeps_every_cache_readable(settings: Settings) -> None:
    user = sign_in_person(PRIYA)
    old_key = settings.TOKEN_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [new_key, old_key]
    assert token_store.rotate_encryption() >= 1
    settings.TOKEN_ENCRYPTION_KEYS = [new_key]
    assert acquire_user_token(user.pk).value


def test_a_cache_under_a_retired_key_means_signing_in_again(settings: Settings) -> None:
    user = sign_in_person(PRIYA)
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ReauthRequired):
        acquire_user_token(user.pk)


def test_withdrawn_consent_flags_the_person() -> None:
    user = sign_in_person(SAMUEL)
    control("POST", "/consents/withdraw", {"user_id": user.object_id})
    with pytest.raises(ReauthRequired):
        acquire_user_token(user.pk, force_refresh=True)
    user.refresh_from_db()
    assert user.needs_reauth
    assert "consent" in user.needs_reauth_reason.lower()


def test_a_good_access_token_is_handed_out_while_another_worker_refreshes() -> None:
    user = sign_in_person(MARCUS)
    first = acquire_user_token(user.pk).value
    # Another worker is refreshing this person's tokens (it holds the cache's lock): a page
    # that needs a token meanwhile gets the stored one, still good, instead of waiting.
    refreshing = get_redis().lock(f"portal:token-lock:{token_store.user_cache_key(user.pk)}")
    assert refreshing.acquire(blocking=False)
    try:
        assert acquire_user_token(user.pk).value == first
    finally:
        refreshing.release()


def test_forgotten_tokens_are_not_handed_out_though_the_access_token_was_good() -> None:
    user = sign_in_person(PRIYA)
    assert acquire_user_token(user.pk).value
    token_store.forget_user_tokens(user)
    with pytest.raises(ReauthRequired):
        acquire_user_token(user.pk)
