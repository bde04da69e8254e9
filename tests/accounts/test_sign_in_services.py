"""Sign-in as the portal's services do it, against the real sandbox authority."""

from __future__ import annotations

import pytest
from django.db import connection
from pytest_django.fixtures import Settings

from accounts import services, token_store
from accounts.models import TokenCache, User
from tests.support.cast import AIKO, JORDAN_OTHER_TENANT, LENA, MEGAN, PRIYA
from tests.support.portal_signin import authority_answer, sign_in_person

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_sign_in_creates_the_person_keyed_by_tenant_and_object_id() -> None:
    user = sign_in_person(PRIYA)
    assert user.display_name == "Priya Natarajan"
    assert user.email == PRIYA
    assert user.tenant_id and user.object_id
    assert user.username == f"{user.object_id}@{user.tenant_id}"
    assert not user.is_portal_admin
    assert not user.is_superuser
    assert user.has_scopes(["Presence.Read.All", "User.Read"])

    again = sign_in_person(PRIYA)
    assert again.pk == user.pk
    assert User.objects.filter(object_id=user.object_id).count() == 1


def test_the_admin_app_role_makes_a_portal_admin_but_not_a_superuser() -> None:
    user = sign_in_person(MEGAN)
    assert user.is_portal_admin
    assert not user.is_superuser and not user.is_staff


def test_a_replayed_answer_is_refused() -> None:
    answer, binding = authority_answer(LENA)
    services.complete_sign_in(params=answer, browser_binding=binding)
    with pytest.raises(services.SignInFailed, match="expired or was already used"):
        services.complete_sign_in(params=answer, browser_binding=binding)


def test_an_answer_for_another_browser_is_refused() -> None:
    answer, _binding = authority_answer(LENA)
    with pytest.raises(services.SignInFailed, match="started in another browser"):
        services.complete_sign_in(params=answer, browser_binding="someone-elses-cookie")


def test_a_tampered_state_is_refused() -> None:
    answer, binding = authority_answer(LENA)
    answer["state"] = answer["state"] + "x"
    with pytest.raises(services.SignInFailed, match="expired or was already used"):
        services.complete_sign_in(params=answer, browser_binding=binding)


def test_a_tampered_code_is_refused_by_the_authority() -> None:
    answer, binding = authority_answer(LENA)
    answer["code"] = "not-the-code"
    with pytest.raises(services.SignInFailed, match="refused"):
        services.complete_sign_in(params=answer, browser_binding=binding)


def test_an_authority_error_is_explained() -> None:
    answer, binding = authority_answer(AIKO, consent="cancel")
    with pytest.raises(services.SignInFailed, match="cancelled"):
        services.complete_sign_in(params=answer, browser_binding=binding)


def test_an_account_of_another_tenant_is_refused_through_a_multi_tenant_authority(
    settings: Settings,
) -> None:
    tenant_authority = settings.MICROSOFT_AUTHORITY
    settings.MICROSOFT_AUTHORITY = tenant_authority.rsplit("/", 1)[0] + "/organizations"
    answer, binding = authority_answer(JORDAN_OTHER_TENANT)
    with pytest.raises(services.SignInFailed, match="cannot sign in to this portal"):
        services.complete_sign_in(params=answer, browser_binding=binding)
    assert not User.objects.filter(email=JORDAN_OTHER_TENANT).exists()


def test_the_token_table_holds_no_readable_token() -> None:
    user = sign_in_person(PRIYA)
    token = token_store.acquire_user_token(user.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, ciphertext FROM accounts_tokencache")
        rows = cursor.fetchall()
    assert rows
    for key, ciphertext in rows:
        raw = bytes(ciphertext)
        assert token.value.encode() not in raw
        # Not even a fragment of a JWT: its header segment is 30-odd characters that random
        # ciphertext would not repeat (a bare "eyJ" it does, once in a few hundred runs).
        assert token.value.split(".")[0].encode() not in raw
        assert b"refresh" not in raw.lower() and b"secret" not in raw.lower()
        assert key == f"user:{user.pk}"
    stored = TokenCache.objects.get(key=f"user:{user.pk}")
    assert token.value in token_store.decrypt(stored.ciphertext)
