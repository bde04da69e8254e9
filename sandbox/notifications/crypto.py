"""Encryption of resource data for rich change notifications, as Graph performs it.

https://learn.microsoft.com/graph/change-notifications-with-resource-data#decrypting-resource-data-from-change-notifications
Graph picks a random AES-256 key, encrypts the resource JSON with AES-CBC (PKCS7 padding, the
first 16 key bytes as IV), signs the ciphertext with HMAC-SHA256 under the same key, and wraps
the key with RSA-OAEP (SHA-1) for the subscriber's certificate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asymmetric_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# Graph documents 2048 to 4096 bit RSA keys for the encryption certificate.
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 4096
AES_KEY_BYTES = 32


class CertificateError(ValueError):
    """The ``encryptionCertificate`` of a subscription cannot be used."""


@dataclass(frozen=True)
class EncryptionCertificate:
    """A subscriber's public certificate, parsed once when the subscription is created."""

    public_key: rsa.RSAPublicKey
    thumbprint: str  # SHA-1 of the DER bytes, upper-case hex like Windows shows it


def load_encryption_certificate(encoded: str) -> EncryptionCertificate:
    """Parse a base64 DER (or PEM) X.509 certificate holding an RSA key of a usable size."""
    text = encoded.strip()
    try:
        if text.startswith("-----BEGIN"):
            certificate = x509.load_pem_x509_certificate(text.encode("ascii"))
        else:
            der = base64.b64decode("".join(text.split()), validate=True)
            certificate = x509.load_der_x509_certificate(der)
    except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
        raise CertificateError(
            "encryptionCertificate must be a base64-encoded X.509 certificate."
        ) from exc
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise CertificateError("encryptionCertificate must hold an RSA public key.")
    if not MIN_RSA_BITS <= public_key.key_size <= MAX_RSA_BITS:
        raise CertificateError(
            f"encryptionCertificate must hold an RSA key of {MIN_RSA_BITS} to "
            f"{MAX_RSA_BITS} bits, not {public_key.key_size}."
        )
    der_bytes = certificate.public_bytes(serialization.Encoding.DER)
    thumbprint = hashlib.sha1(der_bytes, usedforsecurity=False).hexdigest().upper()
    return EncryptionCertificate(public_key=public_key, thumbprint=thumbprint)


def encrypt_resource_data(
    resource: dict[str, Any],
    certificate: EncryptionCertificate,
    certificate_id: str,
    *,
    key: bytes | None = None,
) -> dict[str, str]:
    """Return the ``encryptedContent`` object carrying ``resource`` for this certificate."""
    symmetric_key = key if key is not None else os.urandom(AES_KEY_BYTES)
    if len(symmetric_key) != AES_KEY_BYTES:
        raise ValueError("the symmetric key must be 32 bytes long")
    plaintext = json.dumps(resource, separators=(",", ":")).encode("utf-8")
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(symmetric_key), modes.CBC(symmetric_key[:16])).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    signature = hmac.new(symmetric_key, ciphertext, hashlib.sha256).digest()
    wrapped_key = certificate.public_key.encrypt(
        symmetric_key,
        asymmetric_padding.OAEP(
            mgf=asymmetric_padding.MGF1(algorithm=hashes.SHA1()),  # noqa: S303 - Graph's cipher
            algorithm=hashes.SHA1(),  # noqa: S303 - RSA/ECB/OAEPWithSHA1AndMGF1Padding
            label=None,
        ),
    )
    return {
        "data": base64.b64encode(ciphertext).decode("ascii"),
        "dataSignature": base64.b64encode(signature).decode("ascii"),
        "dataKey": base64.b64encode(wrapped_key).decode("ascii"),
        "encryptionCertificateId": certificate_id,
        "encryptionCertificateThumbprint": certificate.thumbprint,
    }
