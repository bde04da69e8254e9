"""Rich notifications: our certificate, and resource data encrypted as Graph does it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import padding as symmetric_padding
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from comms_portal.graph import (
    EncryptedContent,
    EncryptionCertificate,
    decrypt_resource_data,
    generate_encryption_certificate,
    parse_notifications,
)
from comms_portal.graph.encryption import preload_private_keys
from comms_portal.graph.errors import (
    CiphertextInvalid,
    DataKeyDecryptionFailed,
    DecryptedPayloadInvalid,
    MalformedEncryptedContent,
    SignatureMismatch,
    UnknownEncryptionCertificate,
)
from comms_portal.graph.presence import presence_from_resource_data
from tests.graph.fakegraph import load_example

CERTIFICATE_ID = "portal-notifications-2025"
# A fixed symmetric key keeps the test deterministic; Graph picks a random one per message.
SYMMETRIC_KEY = bytes(range(32))
PRESENCE = {
    "@odata.id": "users/fa8bf3dc-eca7-46b7-bad1-db199b62afc3/presence",
    "@odata.type": "#microsoft.graph.presence",
    "id": "fa8bf3dc-eca7-46b7-bad1-db199b62afc3",
    "availability": "Busy",
    "activity": "InACall",
    "sequenceNumber": "C0129311064",
}


@pytest.fixture(scope="module")
def certificate() -> EncryptionCertificate:
    return generate_encryption_certificate(now=datetime(2025, 3, 4, tzinfo=UTC))


@pytest.fixture(scope="module")
def other_certificate() -> EncryptionCertificate:
    return generate_encryption_certificate(now=datetime(2025, 3, 4, tzinfo=UTC))


def encrypt_like_graph(
    certificate_base64: str, plaintext: bytes, *, key: bytes = SYMMETRIC_KEY
) -> dict[str, str]:
    """Encrypt as the docs describe Graph doing it, with no code from the portal."""
    public_key = x509.load_der_x509_certificate(base64.b64decode(certificate_base64)).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    padder = symmetric_padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    wrapped = public_key.encrypt(
        key,
        padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),  # noqa: S303
    )
    signature = hmac.new(key, ciphertext, hashlib.sha256).digest()
    return {
        "data": base64.b64encode(ciphertext).decode(),
        "dataSignature": base64.b64encode(signature).decode(),
        "dataKey": base64.b64encode(wrapped).decode(),
        "encryptionCertificateId": CERTIFICATE_ID,
        "encryptionCertificateThumbprint": "not-checked",
    }


def content(fields: dict[str, Any]) -> EncryptedContent:
    return EncryptedContent.model_validate(fields)


def test_generated_certificate_fits_a_subscription(certificate: EncryptionCertificate) -> None:
    parsed = x509.load_der_x509_certificate(base64.b64decode(certificate.certificate_base64))
    private_key = load_pem_private_key(certificate.private_key_pem, password=None)
    public_key = parsed.public_key()
    assert isinstance(private_key, rsa.RSAPrivateKey)
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.public_numbers() == private_key.public_key().public_numbers()
    assert private_key.key_size == 2048
    assert parsed.not_valid_after_utc == certificate.not_valid_after
    assert certificate.not_valid_after - datetime(2025, 3, 4, tzinfo=UTC) > timedelta(days=364)
    assert len(certificate.thumbprint) == 40
    assert certificate.certificate_pem.startswith(b"-----BEGIN CERTIFICATE-----")


def test_certificate_options_outside_graphs_range_are_refused() -> None:
    with pytest.raises(ValueError, match="2048 to 4096"):
        generate_encryption_certificate(key_size=1024)
    with pytest.raises(ValueError, match="positive"):
        generate_encryption_certificate(valid_for=timedelta(0))


def test_rich_presence_notification_decrypts_to_a_presence(
    certificate: EncryptionCertificate,
) -> None:
    body = load_example("notification-presence-rich.payload")["request"]
    body["value"][0]["encryptedContent"] = encrypt_like_graph(
        certificate.certificate_base64, json.dumps(PRESENCE).encode()
    )
    [notification] = parse_notifications(json.dumps(body)).value
    assert notification.encrypted_content is not None

    data = decrypt_resource_data(
        notification.encrypted_content,
        private_keys={CERTIFICATE_ID: certificate.private_key_pem},
    )

    assert data == PRESENCE
    presence = presence_from_resource_data(data)
    assert (presence.availability, presence.activity) == ("Busy", "InACall")


def test_decrypts_the_documented_meeting_event(certificate: EncryptionCertificate) -> None:
    event = load_example("notification-onlinemeeting-decrypted-rosterupdated.payload")["response"]
    fields = encrypt_like_graph(certificate.certificate_base64, json.dumps(event).encode())
    data = decrypt_resource_data(
        content(fields), private_keys={CERTIFICATE_ID: certificate.private_key_pem}
    )
    assert data["eventType"] == "rosterUpdated"


def test_tampered_ciphertext_is_refused(certificate: EncryptionCertificate) -> None:
    fields = encrypt_like_graph(certificate.certificate_base64, json.dumps(PRESENCE).encode())
    ciphertext = bytearray(base64.b64decode(fields["data"]))
    ciphertext[5] ^= 0x01
    fields["data"] = base64.b64encode(bytes(ciphertext)).decode()
    with pytest.raises(SignatureMismatch):
        decrypt_resource_data(
            content(fields), private_keys={CERTIFICATE_ID: certificate.private_key_pem}
        )


def test_a_wrong_hmac_is_refused(certificate: EncryptionCertificate) -> None:
    fields = encrypt_like_graph(certificate.certificate_base64, json.dumps(PRESENCE).encode())
    fields["dataSignature"] = base64.b64encode(b"\x00" * 32).decode()
    with pytest.raises(SignatureMismatch):
        decrypt_resource_data(
            content(fields), private_keys={CERTIFICATE_ID: certificate.private_key_pem}
        )


def test_data_for_another_key_is_refused(
    certificate: EncryptionCertificate, other_certificate: EncryptionCertificate
) -> None:
    fields = encrypt_like_graph(other_certificate.certificate_base64, b"{}")
    with pytest.raises(DataKeyDecryptionFailed):
        decrypt_resource_data(
            content(fields), private_keys={CERTIFICATE_ID: certificate.private_key_pem}
        )


def test_an_unknown_certificate_id_is_refused(certificate: EncryptionCertificate) -> None:
    fields = encrypt_like_graph(certificate.certificate_base64, b"{}")
    with pytest.raises(UnknownEncryptionCertificate):
        decrypt_resource_data(
            content(fields), private_keys={"retired-2024": certificate.private_key_pem}
        )
    with pytest.raises(UnknownEncryptionCertificate):
        decrypt_resource_data(content(fields), private_keys={CERTIFICATE_ID: b"not a key"})


def test_rotation_keeps_old_and_new_keys(
    certificate: EncryptionCertificate, other_certificate: EncryptionCertificate
) -> None:
    old = encrypt_like_graph(other_certificate.certificate_base64, b'{"n": 1}')
    old["encryptionCertificateId"] = "portal-notifications-2024"
    new = encrypt_like_graph(certificate.certificate_base64, b'{"n": 2}')
    keys = {
        "portal-notifications-2024": other_certificate.private_key_pem,
        CERTIFICATE_ID: certificate.private_key_pem,
    }
    assert decrypt_resource_data(content(old), private_keys=keys) == {"n": 1}
    assert decrypt_resource_data(content(new), private_keys=keys) == {"n": 2}


@pytest.mark.parametrize("field", ["data", "dataKey", "dataSignature"])
def test_fields_that_are_not_base64_are_refused(
    certificate: EncryptionCertificate, field: str
) -> None:
    fields = encrypt_like_graph(certificate.certificate_base64, b"{}")
    fields[field] = "%%% not base64 %%%"
    with pytest.raises(MalformedEncryptedContent, match=field):
        decrypt_resource_data(
            content(fields), private_keys={CERTIFICATE_ID: certificate.private_key_pem}
        )


def signed_raw(certificate: EncryptionCertificate, ciphertext: bytes) -> dict[str, str]:
    """Wrap the key and sign arbitrary ciphertext, so only its decryption can fail."""
    fields = encrypt_like_graph(certificate.certificate_base64, b"{}")
    fields["data"] = base64.b64encode(ciphertext).decode()
    signature = hmac.new(SYMMETRIC_KEY, ciphertext, hashlib.sha256).digest()
    fields["dataSignature"] = base64.b64encode(signature).decode()
    return fields


def test_signed_ciphertext_with_bad_length_or_padding_is_refused(
    certificate: EncryptionCertificate,
) -> None:
    keys = {CERTIFICATE_ID: certificate.private_key_pem}
    with pytest.raises(CiphertextInvalid, match="blocks"):
        decrypt_resource_data(content(signed_raw(certificate, b"x" * 17)), private_keys=keys)
    # A block whose plaintext ends in 0x00 cannot be PKCS7.
    encryptor = Cipher(algorithms.AES(SYMMETRIC_KEY), modes.CBC(SYMMETRIC_KEY[:16])).encryptor()
    bad_padding = encryptor.update(b"A" * 15 + b"\x00") + encryptor.finalize()
    with pytest.raises(CiphertextInvalid, match="padding"):
        decrypt_resource_data(content(signed_raw(certificate, bad_padding)), private_keys=keys)


@pytest.mark.parametrize("plaintext", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_plaintext_that_is_not_a_json_object_is_refused(
    certificate: EncryptionCertificate, plaintext: bytes
) -> None:
    fields = encrypt_like_graph(certificate.certificate_base64, plaintext)
    with pytest.raises(DecryptedPayloadInvalid):
        decrypt_resource_data(
            content(fields), private_keys={CERTIFICATE_ID: certificate.private_key_pem}
        )


def test_keys_can_be_loaded_ahead_and_a_broken_one_is_named() -> None:
    certificate = generate_encryption_certificate()
    preload_private_keys({CERTIFICATE_ID: certificate.private_key_pem})
    with pytest.raises(UnknownEncryptionCertificate, match="broken-cert"):
        preload_private_keys({"broken-cert": b"-----BEGIN PRIVATE KEY-----\nnot a key\n"})
