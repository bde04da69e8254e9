"""A tiny notification endpoint for tests, and an independent decoder of rich notifications.

The receiver is a threaded ``http.server`` on 127.0.0.1 that answers Graph's validation
handshake and records every notification POST. The decoder follows Microsoft's documented
steps with ``cryptography`` alone, so it checks the sandbox rather than mirroring it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID


@dataclass
class ReceivedPost:
    """One notification POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    answered: int


@dataclass
class PathBehaviour:
    """How the receiver answers on one path."""

    # "echo" answers the handshake correctly; "wrong-body", "json" and a status code
    # (as text, e.g. "403") answer it wrongly; "slow" waits past Graph's 10 s limit.
    validation: str = "echo"
    # Statuses for the next notification POSTs, consumed in order; then ``default_status``.
    statuses: list[int] = field(default_factory=list)
    default_status: int = 202


# What a GET is answered with: status, headers, body.
GetAnswer = tuple[int, dict[str, str], bytes]


class WebhookReceiver:
    """A loopback HTTP server standing in for a subscriber's notification endpoint.

    GETs are answered from ``files`` (path to status, content type, body), else by ``on_get``
    (path and query, headers) when given, else 404: media the platform fetches, say.
    """

    def __init__(self, on_get: Callable[[str, dict[str, str]], GetAnswer] | None = None) -> None:
        self.files: dict[str, tuple[int, str, bytes]] = {}
        self.on_get = on_get
        self.gets: list[str] = []  # paths (with query) of the GETs received
        self.posts: list[ReceivedPost] = []
        self.validations: list[tuple[str, str]] = []  # (path, token)
        self.validation_headers: list[tuple[str, dict[str, str]]] = []  # (path, headers)
        self.behaviours: dict[str, PathBehaviour] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        """Return the absolute http URL of ``path`` on this receiver."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def behave(self, path: str, **changes: Any) -> PathBehaviour:
        """Set how ``path`` answers (see :class:`PathBehaviour`)."""
        with self._lock:
            behaviour = self.behaviours.setdefault(path, PathBehaviour())
            for name, value in changes.items():
                setattr(behaviour, name, value)
            return behaviour

    def posts_to(self, path: str) -> list[ReceivedPost]:
        """Return the notification POSTs received on ``path`` so far."""
        with self._lock:
            return [post for post in self.posts if post.path == path]

    def notifications(self, path: str, *, answered_ok: bool = True) -> list[dict[str, Any]]:
        """Return every notification in the collections posted to ``path``."""
        return [
            item
            for post in self.posts_to(path)
            if not answered_ok or 200 <= post.answered < 300
            for item in post.body.get("value", [])
        ]

    def wait_for(
        self, condition: Callable[[], Any], *, timeout: float = 10.0, what: str = "condition"
    ) -> Any:
        """Poll ``condition`` until it returns something truthy, or fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                with receiver._lock:
                    receiver.gets.append(self.path)
                    served = receiver.files.get(urlsplit(self.path).path)
                if served is not None:
                    status, content_type, body = served
                    self._reply(status, content_type, body)
                    return
                if receiver.on_get is None:
                    self._reply(404, "text/plain", b"not found")
                    return
                status, headers, body = receiver.on_get(self.path, dict(self.headers))
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with receiver._lock:
                    behaviour = receiver.behaviours.setdefault(parts.path, PathBehaviour())
                token = parse_qs(parts.query).get("validationToken")
                if token:
                    receiver.validations.append((parts.path, token[0]))
                    receiver.validation_headers.append((parts.path, dict(self.headers)))
                    self._answer_validation(behaviour.validation, token[0])
                    return
                with receiver._lock:
                    status = (
                        behaviour.statuses.pop(0)
                        if behaviour.statuses
                        else behaviour.default_status
                    )
                    receiver.posts.append(
                        ReceivedPost(
                            parts.path, dict(self.headers), json.loads(raw or b"{}"), status
                        )
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _answer_validation(self, mode: str, token: str) -> None:
                if mode == "slow":
                    time.sleep(11)
                if mode in ("echo", "slow"):
                    self._reply(200, "text/plain; charset=utf-8", token.encode())
                elif mode == "wrong-body":
                    self._reply(200, "text/plain", b"not the token")
                elif mode == "json":
                    self._reply(200, "application/json", json.dumps(token).encode())
                else:
                    self._reply(int(mode), "text/plain", b"no")

            def _reply(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@dataclass(frozen=True)
class SubscriberCertificate:
    """The key pair a subscriber uses for rich notifications."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def base64_der(self) -> str:
        """Return the certificate as Graph's ``encryptionCertificate`` expects it."""
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return base64.b64encode(der).decode("ascii")

    @property
    def thumbprint(self) -> str:
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()


def make_subscriber_certificate(
    common_name: str = "Contoso notifications",
) -> SubscriberCertificate:
    """Create a self-signed RSA 2048 certificate, as a subscriber would."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return SubscriberCertificate(key, certificate)


def decrypt_notification_content(
    encrypted_content: dict[str, str], private_key: rsa.RSAPrivateKey
) -> dict[str, Any]:
    """Verify and decrypt ``encryptedContent`` by Microsoft's documented recipe."""
    symmetric_key = private_key.decrypt(
        base64.b64decode(encrypted_content["dataKey"]),
        # RSA/ECB/OAEPWithSHA1AndMGF1Padding is the cipher Graph documents for dataKey.
        padding.OAEP(
            mgf=padding.MGF1(hashes.SHA1()),  # noqa: S303
            algorithm=hashes.SHA1(),  # noqa: S303
            label=None,
        ),
    )
    data = base64.b64decode(encrypted_content["data"])
    expected = base64.b64encode(hmac.new(symmetric_key, data, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, encrypted_content["dataSignature"]):
        raise ValueError("dataSignature does not match: the content was tampered with")
    decryptor = Cipher(algorithms.AES(symmetric_key), modes.CBC(symmetric_key[:16])).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    return json.loads(padded[: -padded[-1]])
