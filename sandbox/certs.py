"""The sandbox's TLS certificate and JWT signing key, generated once and kept in the state dir."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

CERT_FILE = "tls-cert.pem"
CERT_KEY_FILE = "tls-key.pem"
SIGNING_KEY_FILE = "signing-key.pem"


def b64url(data: bytes) -> str:
    """Encode ``data`` as unpadded base64url, as JOSE does."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """The RSA key that signs id tokens, access tokens and notification validation tokens."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_jwk(self) -> dict[str, Any]:
        """Return the public key as a JWK, as Entra's JWKS lists it."""
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "x5t": self.kid,
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
        }


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically with owner-only permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(handle, 0o600)
        os.write(handle, data)
    finally:
        os.close(handle)
    os.replace(temp_name, path)


def _load_or_create_rsa_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path.name} does not hold an RSA private key")
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_private(
        path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return key


def load_signing_key(state_dir: Path) -> SigningKey:
    """Return the kept signing key, creating it on first run; ``kid`` is its SHA-1 thumbprint."""
    key = _load_or_create_rsa_key(state_dir / SIGNING_KEY_FILE)
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = b64url(hashlib.sha1(public_der).digest())  # noqa: S324 - a thumbprint, not security
    return SigningKey(kid=kid, private_key=key)


def ensure_tls_certificate(state_dir: Path) -> tuple[Path, Path]:
    """Return (certificate, key) paths of the kept self-signed certificate, creating it if needed.

    The certificate is its own trust anchor (CA:TRUE, keyCertSign, SKI/AKI), so clients can trust
    the one PEM file, and it names IP 127.0.0.1 and DNS localhost.
    """
    cert_path, key_path = state_dir / CERT_FILE, state_dir / CERT_KEY_FILE
    if cert_path.exists() and key_path.exists() and _still_valid(cert_path):
        return cert_path, key_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Comms Portal sandbox"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Comms Portal sandbox"),
        ]
    )
    now = datetime.now(tz=UTC)
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write_private(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _still_valid(cert_path: Path) -> bool:
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return certificate.not_valid_after_utc > datetime.now(tz=UTC) + timedelta(days=1)
