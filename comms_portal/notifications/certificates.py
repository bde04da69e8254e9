"""The certificates Graph encrypts rich notifications to; private keys encrypted at rest."""

# https://learn.microsoft.com/graph/change-notifications-with-resource-data

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta

from cryptography.fernet import InvalidToken
from django.db import DatabaseError
from django.utils import timezone

from accounts.token_store import decrypt, encrypt
from comms_portal.graph import generate_encryption_certificate
from comms_portal.graph.encryption import preload_private_keys
from comms_portal.graph.errors import UnknownEncryptionCertificate
from comms_portal.notifications.models import NotificationCertificate

logger = logging.getLogger(__name__)

CERTIFICATE_LIFETIME = timedelta(days=365)
# A certificate this close to its end is not handed to new subscriptions.
ROTATE_BEFORE = timedelta(days=14)


def current_certificate(now: datetime | None = None) -> NotificationCertificate:
    """Return the certificate for new subscriptions, creating one when none is fit."""
    moment = now or timezone.now()
    fit = (
        NotificationCertificate.objects.filter(
            retired_at__isnull=True, not_valid_after__gt=moment + ROTATE_BEFORE
        )
        .order_by("-created_at")
        .first()
    )
    if fit is not None:
        return fit
    generated = generate_encryption_certificate(valid_for=CERTIFICATE_LIFETIME)
    certificate = NotificationCertificate.objects.create(
        certificate_id=f"portal-notifications-{uuid.uuid4()}",
        certificate_base64=generated.certificate_base64,
        thumbprint=generated.thumbprint,
        private_key_ciphertext=encrypt(generated.private_key_pem.decode("ascii")),
        not_valid_after=generated.not_valid_after,
    )
    logger.info("created notification certificate %s", certificate.certificate_id)
    return certificate


def private_keys() -> dict[str, bytes]:
    """Return every usable private key (PEM) by certificate id, for decrypting notifications."""
    keys: dict[str, bytes] = {}
    for certificate_id, ciphertext in NotificationCertificate.objects.values_list(
        "certificate_id", "private_key_ciphertext"
    ):
        try:
            keys[certificate_id] = decrypt(ciphertext).encode("ascii")
        except InvalidToken:
            logger.error("private key of %s cannot be decrypted with the keys", certificate_id)
    return keys


# Keys change only when a certificate is made or deleted: a drain reads them again after this
# long, or at once when a notification names a certificate it does not hold.
HELD_KEYS_SECONDS = 60.0
_held_keys: dict[str, bytes] = {}
_held_until = [0.0]


def private_keys_for(certificate_ids: Collection[str]) -> dict[str, bytes]:
    """Return the private keys (PEM) by certificate id, read from the database only when one of
    ``certificate_ids`` is not held or the held ones are older than ``HELD_KEYS_SECONDS``."""
    if not certificate_ids:
        # Nothing to decrypt (a batch of callbacks, or of notifications without resource
        # data): no database read in the drain's way.
        return {}
    now = time.monotonic()
    if now >= _held_until[0] or not set(certificate_ids) <= _held_keys.keys():
        fresh = private_keys()
        _held_keys.clear()
        _held_keys.update(fresh)
        _held_until[0] = now + HELD_KEYS_SECONDS
    return dict(_held_keys)


def preload_keys() -> None:
    """Load every private key into the decryption cache; harmless when there is none yet."""
    try:
        keys = private_keys()
        preload_private_keys(keys)
        # The drain's own copy too: its first batch then reads no keys from the database.
        _held_keys.clear()
        _held_keys.update(keys)
        _held_until[0] = time.monotonic() + HELD_KEYS_SECONDS
    except (DatabaseError, UnknownEncryptionCertificate) as error:
        # The first notification loads what it needs; starting the worker must not fail.
        logger.warning("notification keys not preloaded: %s", error)


def retire(certificate_id: str, now: datetime | None = None) -> None:
    """Stop giving a certificate to new subscriptions (it still decrypts until deleted)."""
    NotificationCertificate.objects.filter(certificate_id=certificate_id).update(
        retired_at=now or timezone.now()
    )
