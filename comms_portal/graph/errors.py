"""Errors raised by the Graph client, mapped once from Graph's HTTP answers."""

# https://learn.microsoft.com/graph/errors

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class GraphError(Exception):
    """Graph answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        status: int | None = None,
        request_id: str | None = None,
        client_request_id: str | None = None,
        date: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.date = date

    def __str__(self) -> str:
        parts = [f"HTTP {self.status}" if self.status is not None else "no HTTP answer"]
        if self.code:
            parts.append(self.code)
        text = f"{' '.join(parts)}: {self.message}"
        if self.request_id:
            text += f" (request-id {self.request_id})"
        return text


class BadRequest(GraphError):
    """Graph refused the request as malformed (400)."""


class Unauthorized(GraphError):
    """The access token was missing, expired or revoked (401): the person must sign in again."""


class Forbidden(GraphError):
    """The token lacks a permission, or a quota was exceeded (403)."""


class NotFound(GraphError):
    """The addressed resource does not exist (404)."""


class Conflict(GraphError):
    """The request conflicts with the resource's state, e.g. a duplicate subscription (409)."""


class FailedDependency(GraphError):
    """A batched request was skipped because a request it depends on failed (424)."""


class Throttled(GraphError):
    """Graph throttled the request (429); ``retry_after`` is the wait it asked for, in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailable(GraphError):
    """Graph or its gateway is unavailable or timed out (503, 504)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InvalidResponse(GraphError):
    """Graph's answer is not what its documentation describes (bad JSON, missing fields)."""


class GraphTransportError(GraphError):
    """The request could not be sent or its answer not read (connection refused, reset)."""


class GraphTimeout(GraphTransportError):
    """Graph did not answer within the configured timeout."""


_ERROR_BY_STATUS: dict[int, type[GraphError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    424: FailedDependency,
    429: Throttled,
    503: ServiceUnavailable,
    504: ServiceUnavailable,
}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes | Mapping[str, Any] | None,
    *,
    retry_after: float | None = None,
) -> GraphError:
    """Build the typed error for an error answer, reading Graph's error body when present."""
    document: object = body
    if isinstance(body, bytes):
        try:
            document = json.loads(body) if body else None
        except ValueError:
            document = None
    error: Mapping[str, Any] = {}
    if isinstance(document, Mapping) and isinstance(document.get("error"), Mapping):
        error = document["error"]
    inner = error.get("innerError") or error.get("innererror") or {}
    if not isinstance(inner, Mapping):
        inner = {}

    code = _text(error.get("code")) or ""
    message = _text(error.get("message"))
    if message is None:
        snippet = body[:200].decode("utf-8", "replace").strip() if isinstance(body, bytes) else ""
        message = snippet or f"Graph answered HTTP {status} without an error description."
    lowered = {key.lower(): value for key, value in headers.items()}
    request_id = _text(lowered.get("request-id")) or _text(inner.get("request-id"))
    client_request_id = _text(lowered.get("client-request-id")) or _text(
        inner.get("client-request-id")
    )
    error_type = _ERROR_BY_STATUS.get(status, GraphError)
    common: dict[str, Any] = {
        "code": code,
        "status": status,
        "request_id": request_id,
        "client_request_id": client_request_id,
        "date": _text(inner.get("date")),
    }
    if error_type is Throttled:
        return Throttled(message, retry_after=retry_after, **common)
    if error_type is ServiceUnavailable:
        return ServiceUnavailable(message, retry_after=retry_after, **common)
    return error_type(message, **common)


class NotificationError(Exception):
    """An incoming change notification cannot be trusted or read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidNotification(NotificationError):
    """The notification body is not a changeNotificationCollection."""


class ValidationTokenError(NotificationError):
    """A validation token in a rich notification is not acceptable."""


class MissingValidationTokens(ValidationTokenError):
    """A notification with resource data came without validation tokens."""


class MalformedValidationToken(ValidationTokenError):
    """A validation token is not a well-formed JWT with the claims Graph puts in it."""


class UnexpectedTokenAlgorithm(ValidationTokenError):
    """A validation token is not signed with RS256."""


class UnknownSigningKey(ValidationTokenError):
    """A validation token names a signing key the identity platform does not publish."""


class BadTokenSignature(ValidationTokenError):
    """A validation token's signature does not verify."""


class TokenExpired(ValidationTokenError):
    """A validation token has expired."""


class TokenNotYetValid(ValidationTokenError):
    """A validation token's not-before time is still ahead."""


class WrongAudience(ValidationTokenError):
    """A validation token was issued for another application."""


class WrongPublisher(ValidationTokenError):
    """A validation token was not issued to Graph's change-notification publisher."""


class TenantNotAllowed(ValidationTokenError):
    """A validation token comes from a tenant the portal does not serve."""


class WrongIssuer(ValidationTokenError):
    """A validation token's issuer is not the identity platform of its tenant."""


class DecryptionError(NotificationError):
    """Encrypted resource data in a notification cannot be decrypted."""


class UnknownEncryptionCertificate(DecryptionError):
    """The notification names an encryption certificate the portal does not hold."""


class MalformedEncryptedContent(DecryptionError):
    """A field of encryptedContent is missing or not base64."""


class DataKeyDecryptionFailed(DecryptionError):
    """The symmetric key does not decrypt with our private key (wrong or rotated key)."""


class SignatureMismatch(DecryptionError):
    """The HMAC of the encrypted data does not match dataSignature: it was altered."""


class CiphertextInvalid(DecryptionError):
    """The encrypted data has a wrong length or padding."""


class DecryptedPayloadInvalid(DecryptionError):
    """The decrypted data is not a JSON object."""
