"""Reading incoming change notifications: their shape, clientState, and validation tokens."""

# https://learn.microsoft.com/graph/change-notifications-delivery-webhooks
# https://learn.microsoft.com/graph/change-notifications-with-resource-data
# https://learn.microsoft.com/graph/api/resources/changenotificationcollection

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from pydantic import Field, ValidationError, field_validator, model_validator

from comms_portal.graph.errors import (
    BadTokenSignature,
    InvalidNotification,
    MalformedValidationToken,
    MissingValidationTokens,
    TenantNotAllowed,
    TokenExpired,
    TokenNotYetValid,
    UnexpectedTokenAlgorithm,
    UnknownSigningKey,
    WrongAudience,
    WrongIssuer,
    WrongPublisher,
)
from comms_portal.graph.models import GraphModel, describe_validation_error

# The application id Graph signs change-notification validation tokens for.
GRAPH_NOTIFICATION_PUBLISHER_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"
# v1.0 and v2.0 token issuers of the Microsoft identity platform.
DEFAULT_ISSUER_TEMPLATES = (
    "https://sts.windows.net/{tenant_id}/",
    "https://login.microsoftonline.com/{tenant_id}/v2.0",
)
LIFECYCLE_EVENTS = frozenset({"subscriptionRemoved", "missed", "reauthorizationRequired"})

# Looks up the identity platform's public key for a key id; None when it publishes none.
SigningKeyProvider = Callable[[str], RSAPublicKey | None]


class ResourceData(GraphModel):
    """What a notification says about the changed resource."""

    # https://learn.microsoft.com/graph/api/resources/resourcedata
    odata_type: str | None = Field(default=None, alias="@odata.type")
    odata_id: str | None = Field(default=None, alias="@odata.id")
    odata_etag: str | None = Field(default=None, alias="@odata.etag")
    id: str | None = None


class EncryptedContent(GraphModel):
    """The encrypted resource data of a rich notification."""

    # https://learn.microsoft.com/graph/api/resources/changenotificationencryptedcontent
    data: str
    data_signature: str = Field(alias="dataSignature")
    data_key: str = Field(alias="dataKey")
    encryption_certificate_id: str = Field(alias="encryptionCertificateId")
    encryption_certificate_thumbprint: str | None = Field(
        default=None, alias="encryptionCertificateThumbprint"
    )


PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


class ChangeNotification(GraphModel):
    """One change (or lifecycle event) of one subscription."""

    # https://learn.microsoft.com/graph/api/resources/changenotification
    # Ids and clientState are looked up in the database, whose text cannot hold NUL: refuse
    # control characters in ids, and NUL in clientState.
    subscription_id: str = Field(
        alias="subscriptionId", min_length=1, max_length=128, pattern=PRINTABLE
    )
    id: str | None = None
    subscription_expiration_date_time: datetime | None = Field(
        default=None, alias="subscriptionExpirationDateTime"
    )
    change_type: str | None = Field(default=None, alias="changeType")
    resource: str | None = None
    tenant_id: str | None = Field(default=None, alias="tenantId")
    organization_id: str | None = Field(default=None, alias="organizationId")
    client_state: str | None = Field(default=None, alias="clientState")
    resource_data: ResourceData | None = Field(default=None, alias="resourceData")
    encrypted_content: EncryptedContent | None = Field(default=None, alias="encryptedContent")
    lifecycle_event: str | None = Field(default=None, alias="lifecycleEvent")

    @field_validator("client_state")
    @classmethod
    def _no_nul_in_client_state(cls, value: str | None) -> str | None:
        # Checked here rather than by a pattern, so that a lone surrogate stays a mere mismatch.
        if value is not None and "\x00" in value:
            raise ValueError("clientState holds a NUL character")
        return value

    @model_validator(mode="after")
    def _change_or_lifecycle(self) -> ChangeNotification:
        if self.lifecycle_event is None and not (self.change_type and self.resource):
            raise ValueError("a change notification needs changeType and resource")
        return self

    @property
    def is_lifecycle(self) -> bool:
        """Tell whether this is a lifecycle event rather than a resource change."""
        return self.lifecycle_event is not None


class ChangeNotificationCollection(GraphModel):
    """The body Graph posts to a notification URL."""

    value: list[ChangeNotification] = Field(min_length=1)
    validation_tokens: list[str] = Field(default_factory=list, alias="validationTokens")

    @property
    def has_resource_data(self) -> bool:
        """Tell whether any notification carries encrypted resource data."""
        return any(item.encrypted_content is not None for item in self.value)


def parse_notifications(body: bytes | str) -> ChangeNotificationCollection:
    """Parse a webhook body; anything but a changeNotificationCollection is refused."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidNotification("The body is not JSON.") from None
    if not isinstance(document, dict):
        raise InvalidNotification("The body is not a JSON object.")
    if not isinstance(document.get("value"), list):
        raise InvalidNotification("The body has no 'value' list of notifications.")
    try:
        return ChangeNotificationCollection.model_validate(document)
    except ValidationError as error:
        raise InvalidNotification(
            f"The notifications are malformed: {describe_validation_error(error)}."
        ) from None
    except RecursionError:
        raise InvalidNotification("The notifications are nested too deeply.") from None


def client_state_matches(expected: str, got: str | None) -> bool:
    """Compare a notification's clientState with ours in constant time."""
    if got is None:
        return False
    # JSON may carry lone surrogates; encode them rather than fail on them.
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), got.encode("utf-8", "surrogatepass")
    )


@dataclass(frozen=True)
class ValidationTokenClaims:
    """The checked facts of one validation token."""

    tenant_id: str
    audience: str
    issuer: str
    expires_at: datetime


def _claim_time(claims: Mapping[str, Any], name: str, *, required: bool) -> datetime | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise MalformedValidationToken(f"The validation token has no '{name}' claim.")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedValidationToken(f"The validation token's '{name}' is not a time.")
    return datetime.fromtimestamp(value, UTC)


def _verify_one(
    token: object,
    *,
    keys: SigningKeyProvider,
    audience: str,
    allowed_tenant_ids: Collection[str],
    issuer_templates: Sequence[str],
    now: datetime,
    leeway: timedelta,
) -> ValidationTokenClaims:
    if not isinstance(token, str):
        raise MalformedValidationToken("A validation token is not a string.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise MalformedValidationToken("A validation token is not a JWT.") from None
    if header.get("alg") != "RS256":
        raise UnexpectedTokenAlgorithm(
            f"A validation token is signed with {header.get('alg')!r}, not RS256."
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise MalformedValidationToken("A validation token names no signing key (kid).")
    key = keys(kid)
    if key is None:
        raise UnknownSigningKey(f"No published signing key has kid {kid!r}.")
    try:
        # The time and audience checks follow below, against the injected clock.
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise BadTokenSignature("A validation token's signature does not verify.") from None
    except jwt.PyJWTError as error:
        raise MalformedValidationToken(f"A validation token cannot be read: {error}.") from None

    expires_at = _claim_time(claims, "exp", required=True)
    assert expires_at is not None
    if now > expires_at + leeway:
        raise TokenExpired(f"A validation token expired at {expires_at.isoformat()}.")
    not_before = _claim_time(claims, "nbf", required=False)
    if not_before is not None and now + leeway < not_before:
        raise TokenNotYetValid(f"A validation token is valid only from {not_before.isoformat()}.")

    token_audience = claims.get("aud")
    audiences = token_audience if isinstance(token_audience, list) else [token_audience]
    if audience not in audiences:
        raise WrongAudience("A validation token was issued for another application.")
    # v2.0 tokens name the client in azp, v1.0 tokens in appid.
    publisher = claims.get("azp", claims.get("appid"))
    if publisher != GRAPH_NOTIFICATION_PUBLISHER_ID:
        raise WrongPublisher("A validation token was not issued to Graph's notification sender.")
    tenant_id = claims.get("tid")
    if not isinstance(tenant_id, str) or tenant_id not in allowed_tenant_ids:
        raise TenantNotAllowed(f"A validation token comes from tenant {tenant_id!r}.")
    issuer = claims.get("iss")
    expected_issuers = {template.format(tenant_id=tenant_id) for template in issuer_templates}
    if issuer not in expected_issuers:
        raise WrongIssuer(f"A validation token's issuer {issuer!r} is not its tenant's.")
    return ValidationTokenClaims(
        tenant_id=tenant_id, audience=audience, issuer=str(issuer), expires_at=expires_at
    )


def verify_validation_tokens(
    tokens: Sequence[object],
    *,
    keys: SigningKeyProvider,
    audience: str,
    allowed_tenant_ids: Collection[str],
    issuer_templates: Sequence[str] = DEFAULT_ISSUER_TEMPLATES,
    now: datetime | None = None,
    leeway: timedelta = timedelta(minutes=5),
) -> list[ValidationTokenClaims]:
    """Check every validation token of a rich notification; raise on the first bad one."""
    if not tokens:
        raise MissingValidationTokens("Notifications with resource data need validation tokens.")
    moment = now or datetime.now(UTC)
    return [
        _verify_one(
            token,
            keys=keys,
            audience=audience,
            allowed_tenant_ids=allowed_tenant_ids,
            issuer_templates=issuer_templates,
            now=moment,
            leeway=leeway,
        )
        for token in tokens
    ]
