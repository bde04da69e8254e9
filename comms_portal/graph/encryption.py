"""Encrypted resource data of rich notifications: our certificate, and decrypting with it."""

# https://learn.microsoft.com/graph/change-notifications-with-resource-data

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID

from comms_portal.graph.errors import (
    CiphertextInvalid,
    DataKeyDecryptionFailed,
    DecryptedPayloadInvalid,
    MalformedEncryptedContent,
    SignatureMismatch,
    UnknownEncryptionCertificate,
)
from comms_portal.graph.notifications import EncryptedContent

_AES_KEY_SIZES = frozenset({16, 24, 32})


@dataclass(frozen=True)
class EncryptionCertificate:
    """A self-signed certificate for subscriptions' encryptionCertificate, with its key."""

    # Base64 DER: the value of a subscription's encryptionCertificate.
    certificate_base64: str
    certificate_pem: bytes
    private_key_pem: bytes
    thumbprint: str
    not_valid_after: datetime


def generate_encryption_certificate(
    *,
    common_name: str = "Comms Portal change notifications",
    valid_for: timedelta = timedelta(days=365),
    key_size: int = 2048,
    now: datetime | None = None,
) -> EncryptionCertificate:
    """Create an RSA key and a self-signed certificate Graph can encrypt notifications to."""
    if not 2048 <= key_size <= 4096:
        raise ValueError("Graph accepts RSA keys of 2048 to 4096 bits.")
    if valid_for <= timedelta(0):
        raise ValueError("valid_for must be a positive duration.")
    start = (now or datetime.now(UTC)) - timedelta(minutes=5)
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + valid_for)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=True,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    return EncryptionCertificate(
        certificate_base64=base64.b64encode(der).decode("ascii"),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        # Graph reports the SHA-1 thumbprint in encryptionCertificateThumbprint.
        thumbprint=hashlib.sha1(der, usedforsecurity=False).hexdigest().upper(),
        not_valid_after=certificate.not_valid_after_utc,
    )


def _b64(value: str, field: str) -> bytes:
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedEncryptedContent(f"encryptedContent.{field} is not base64.") from None
    if not decoded:
        raise MalformedEncryptedContent(f"encryptedContent.{field} is empty.")
    return decoded


# Loading a PEM key checks the RSA key's consistency, which costs ~35 ms: a hundred times the
# decryption itself. Keys change only when certificates rotate, so each loads once a process.
@functools.lru_cache(maxsize=16)
def _load_private_key(pem: bytes) -> PrivateKeyTypes:
    return serialization.load_pem_private_key(pem, password=None)


def preload_private_keys(private_keys: dict[str, bytes]) -> None:
    """Load each PEM key now (at process start), so no notification pays the load."""
    for certificate_id, pem in private_keys.items():
        _private_key(pem, certificate_id)


def _private_key(pem: bytes, certificate_id: str) -> rsa.RSAPrivateKey:
    try:
        key = _load_private_key(pem)
    except (ValueError, TypeError):
        raise UnknownEncryptionCertificate(
            f"The private key held for certificate {certificate_id!r} cannot be loaded."
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UnknownEncryptionCertificate(
            f"The key held for certificate {certificate_id!r} is not an RSA key."
        )
    return key


def decrypt_resource_data(
    encrypted_content: EncryptedContent, *, private_keys: Mapping[str, bytes]
) -> dict[str, Any]:
    """Verify and decrypt a notification's resource data with the key of its certificate id."""
    pem = private_keys.get(encrypted_content.encryption_certificate_id)
    if pem is None:
        raise UnknownEncryptionCertificate(
            f"No private key is held for certificate "
            f"{encrypted_content.encryption_certificate_id!r}."
        )
    key = _private_key(pem, encrypted_content.encryption_certificate_id)
    wrapped_key = _b64(encrypted_content.data_key, "dataKey")
    ciphertext = _b64(encrypted_content.data, "data")
    signature = _b64(encrypted_content.data_signature, "dataSignature")

    try:
        # Graph wraps the key with RSA/ECB/OAEPWithSHA1AndMGF1Padding; SHA-1 is its choice.
        oaep = OAEP(mgf=MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303
        symmetric_key = key.decrypt(wrapped_key, oaep)
    except ValueError:
        raise DataKeyDecryptionFailed(
            "dataKey does not decrypt with our private key (wrong or rotated certificate)."
        ) from None
    if len(symmetric_key) not in _AES_KEY_SIZES:
        raise DataKeyDecryptionFailed("dataKey does not hold an AES key.")

    # The signature covers the ciphertext: check it before any decryption happens.
    expected = hmac.new(symmetric_key, ciphertext, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise SignatureMismatch("dataSignature does not match the encrypted data.")

    if len(ciphertext) % 16:
        raise CiphertextInvalid("The encrypted data is not a whole number of AES blocks.")
    decryptor = Cipher(algorithms.AES(symmetric_key), modes.CBC(symmetric_key[:16])).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plaintext = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise CiphertextInvalid("The decrypted data has invalid PKCS7 padding.") from None
    try:
        document = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DecryptedPayloadInvalid("The decrypted data is not JSON.") from None
    if not isinstance(document, dict):
        raise DecryptedPayloadInvalid("The decrypted data is not a JSON object.")
    return document
