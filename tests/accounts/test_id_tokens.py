"""The portal verifies id_tokens itself: MSAL checks only the nonce."""

from __future__ import annotations

import os
import ssl
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from accounts.identity import IdTokenRejected, WrongTenant, authority_metadata, verify_id_token

# The sandbox authority's own signing key: only it can mint tokens the portal should trust.
AUTHORITY_KEY_FILE = Path(os.environ["PORTAL_VAR_DIR"]) / "sandbox" / "signing-key.pem"


@pytest.fixture(scope="module")
def authority_key() -> Any:
    return serialization.load_pem_private_key(AUTHORITY_KEY_FILE.read_bytes(), password=None)


@pytest.fixture(scope="module")
def authority_kid() -> str:
    context = ssl.create_default_context(cafile=settings.GRAPH_CA_BUNDLE)
    client = jwt.PyJWKClient(authority_metadata()["jwks_uri"], ssl_context=context)
    return str(client.get_jwk_set().keys[0].key_id)


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": f"{settings.MICROSOFT_AUTHORITY}/v2.0",
        "aud": settings.MICROSOFT_CLIENT_ID,
        "tid": settings.MICROSOFT_TENANT_ID,
        "oid": "00000000-0000-4000-8000-0000000000aa",
        "sub": "subject",
        "name": "Forged Person",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "ver": "2.0",
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def token(key: Any, kid: str, **changes: Any) -> str:
    return jwt.encode(claims(**changes), key, algorithm="RS256", headers={"kid": kid})


def test_a_token_the_authority_signed_for_us_is_accepted(
    authority_key: Any, authority_kid: str
) -> None:
    verified = verify_id_token(token(authority_key, authority_kid))
    assert verified["oid"] == "00000000-0000-4000-8000-0000000000aa"


def test_a_bad_signature_is_refused(authority_kid: str) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(IdTokenRejected, match="signature is not valid"):
        verify_id_token(token(impostor, authority_kid))


def test_an_unknown_signing_key_is_refused(authority_key: Any) -> None:
    with pytest.raises(IdTokenRejected, match="key the authority does not publish"):
        verify_id_token(token(authority_key, "no-such-kid"))


def test_a_token_for_another_application_is_refused(authority_key: Any, authority_kid: str) -> None:
    with pytest.raises(IdTokenRejected, match="another application"):
        verify_id_token(
            token(authority_key, authority_kid, aud="11111111-2222-3333-4444-555555555555")
        )


def test_a_token_from_another_issuer_is_refused(authority_key: Any, authority_kid: str) -> None:
    forged_issuer = f"https://login.example.net/{settings.MICROSOFT_TENANT_ID}/v2.0"
    with pytest.raises(IdTokenRejected, match="unexpected issuer"):
        verify_id_token(token(authority_key, authority_kid, iss=forged_issuer))


def test_an_expired_token_is_refused(authority_key: Any, authority_kid: str) -> None:
    long_ago = int(time.time()) - 7200
    with pytest.raises(IdTokenRejected, match="expired"):
        verify_id_token(
            token(authority_key, authority_kid, iat=long_ago, nbf=long_ago, exp=long_ago + 600)
        )


def test_a_token_not_valid_yet_is_refused(authority_key: Any, authority_kid: str) -> None:
    later = int(time.time()) + 3600
    with pytest.raises(IdTokenRejected, match="not valid yet"):
        verify_id_token(token(authority_key, authority_kid, nbf=later, exp=later + 3600))


def test_a_token_of_another_tenant_is_refused(authority_key: Any, authority_kid: str) -> None:
    with pytest.raises(WrongTenant, match="cannot sign in"):
        verify_id_token(
            token(authority_key, authority_kid, tid="99999999-0000-4000-8000-000000000000")
        )


def test_a_token_without_an_object_id_is_refused(authority_key: Any, authority_kid: str) -> None:
    with pytest.raises(IdTokenRejected, match="oid"):
        verify_id_token(token(authority_key, authority_kid, oid=None))


def test_an_unsigned_token_is_refused() -> None:
    unsigned = jwt.encode(claims(), key="", algorithm="none")
    with pytest.raises(IdTokenRejected, match="RS256"):
        verify_id_token(unsigned)


def test_garbage_is_refused() -> None:
    with pytest.raises(IdTokenRejected, match="malformed"):
        verify_id_token("this.is-not-a.jwt")
