"""Validation tokens of rich notifications: each way a token can be wrong is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from comms_portal.graph import verify_validation_tokens
from comms_portal.graph.errors import (
    BadTokenSignature,
    MalformedValidationToken,
    MissingValidationTokens,
    TenantNotAllowed,
    TokenExpired,
    TokenNotYetValid,
    UnexpectedTokenAlgorithm,
    UnknownSigningKey,
    ValidationTokenError,
    WrongAudience,
    WrongIssuer,
    WrongPublisher,
)
from tests.graph.fakegraph import load_example

DOCUMENTED_CLAIMS: dict[str, Any] = load_example("notification-validationtoken-jwt.claims")[
    "response"
]
OUR_APP_ID = DOCUMENTED_CLAIMS["aud"]
TENANT_ID = DOCUMENTED_CLAIMS["tid"]
NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
KEY_ID = "identity-platform-key-1"


@pytest.fixture(scope="module")
def signing_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def impostor_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def claims(**changes: Any) -> dict[str, Any]:
    issued = int(NOW.timestamp()) - 60
    document = {**DOCUMENTED_CLAIMS, "iat": issued, "nbf": issued, "exp": issued + 3600}
    document.update(changes)
    return {key: value for key, value in document.items() if value is not None}


def sign(
    key: RSAPrivateKey, payload: dict[str, Any], *, kid: str = KEY_ID, algorithm: str = "RS256"
) -> str:
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


def verify(tokens: list[object], key: RSAPrivateKey, **options: Any) -> Any:
    published: dict[str, RSAPublicKey] = {KEY_ID: key.public_key()}
    return verify_validation_tokens(
        tokens,
        keys=published.get,
        audience=OUR_APP_ID,
        allowed_tenant_ids={TENANT_ID},
        now=options.pop("now", NOW),
        **options,
    )


def test_a_genuine_token_is_accepted(signing_key: RSAPrivateKey) -> None:
    [checked] = verify([sign(signing_key, claims())], signing_key)
    assert checked.tenant_id == TENANT_ID
    assert checked.audience == OUR_APP_ID
    assert checked.issuer == f"https://sts.windows.net/{TENANT_ID}/"


def test_a_v2_token_naming_graph_in_azp_is_accepted(signing_key: RSAPrivateKey) -> None:
    token = sign(
        signing_key,
        claims(
            appid=None,
            azp="0bf30f3b-4a52-48df-9a82-234910c4a086",
            iss=f"https://login.microsoftonline.com/{TENANT_ID}/v2.0",
        ),
    )
    assert verify([token], signing_key)[0].issuer.endswith("/v2.0")


def test_a_sandbox_issuer_is_accepted_when_configured(signing_key: RSAPrivateKey) -> None:
    token = sign(signing_key, claims(iss=f"https://127.0.0.1:8443/{TENANT_ID}/v2.0"))
    checked = verify(
        [token], signing_key, issuer_templates=("https://127.0.0.1:8443/{tenant_id}/v2.0",)
    )
    assert checked[0].tenant_id == TENANT_ID


def test_expiry_within_leeway_is_tolerated_beyond_it_refused(signing_key: RSAPrivateKey) -> None:
    token = sign(signing_key, claims(exp=int(NOW.timestamp()) - 60))
    verify([token], signing_key)
    with pytest.raises(TokenExpired):
        verify([token], signing_key, now=NOW + timedelta(minutes=10))


@pytest.mark.parametrize(
    ("payload_changes", "error"),
    [
        ({"exp": int(NOW.timestamp()) - 3600}, TokenExpired),
        ({"nbf": int(NOW.timestamp()) + 3600}, TokenNotYetValid),
        ({"aud": "11111111-2222-4333-8444-555555555555"}, WrongAudience),
        ({"appid": "11111111-2222-4333-8444-555555555555"}, WrongPublisher),
        ({"appid": None}, WrongPublisher),
        ({"tid": "99999999-0000-4000-8000-000000000000"}, TenantNotAllowed),
        ({"iss": "https://sts.windows.net/99999999-0000-4000-8000-000000000000/"}, WrongIssuer),
        ({"exp": None}, MalformedValidationToken),
        ({"exp": "tomorrow"}, MalformedValidationToken),
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "wrong-audience",
        "wrong-appid",
        "no-appid",
        "other-tenant",
        "issuer-of-another-tenant",
        "no-exp",
        "exp-not-a-time",
    ],
)
def test_wrong_claims_are_refused(
    signing_key: RSAPrivateKey, payload_changes: dict[str, Any], error: type[Exception]
) -> None:
    token = sign(signing_key, claims(**payload_changes))
    with pytest.raises(error):
        verify([token], signing_key)


def test_a_token_signed_by_another_key_is_refused(
    signing_key: RSAPrivateKey, impostor_key: RSAPrivateKey
) -> None:
    forged = sign(impostor_key, claims())
    with pytest.raises(BadTokenSignature):
        verify([forged], signing_key)


def test_a_tampered_payload_is_refused(signing_key: RSAPrivateKey) -> None:
    header, _, signature = sign(signing_key, claims()).split(".")
    _, payload, _ = sign(signing_key, claims(tid="99999999-0000-4000-8000-000000000000")).split(".")
    with pytest.raises(BadTokenSignature):
        verify([f"{header}.{payload}.{signature}"], signing_key)


def test_an_unknown_key_id_is_refused(signing_key: RSAPrivateKey) -> None:
    with pytest.raises(UnknownSigningKey):
        verify([sign(signing_key, claims(), kid="rotated-away")], signing_key)


def test_a_symmetric_algorithm_is_refused(signing_key: RSAPrivateKey) -> None:
    token = jwt.encode(claims(), "shared-secret-of-32-bytes-length!", algorithm="HS256")
    with pytest.raises(UnexpectedTokenAlgorithm):
        verify([token], signing_key)


@pytest.mark.parametrize("token", ["not-a-jwt", "", 42, "a.b.c"])
def test_garbage_tokens_are_malformed(signing_key: RSAPrivateKey, token: object) -> None:
    with pytest.raises(MalformedValidationToken):
        verify([token], signing_key)


def test_no_tokens_at_all_are_refused(signing_key: RSAPrivateKey) -> None:
    with pytest.raises(MissingValidationTokens):
        verify([], signing_key)


def test_one_bad_token_among_good_ones_refuses_the_lot(
    signing_key: RSAPrivateKey, impostor_key: RSAPrivateKey
) -> None:
    tokens: list[object] = [sign(signing_key, claims()), sign(impostor_key, claims())]
    with pytest.raises(ValidationTokenError):
        verify(tokens, signing_key)
