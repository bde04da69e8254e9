"""The Graph client: one pooled HTTP path, typed results, mapped errors, notification decoding.

A pure library: the caller passes GraphSettings and a token provider; nothing here reads
Django settings or models, so the same code serves graph.microsoft.com and the sandbox.
Area modules (``users``, ``presence``, ``subscriptions``) hold one function per Graph
operation, each taking a GraphClient.
"""

from comms_portal.graph.batch import BatchRequest, BatchResult, send_batch
from comms_portal.graph.config import GRAPH_V1_URL, GraphSettings, RetryPolicy
from comms_portal.graph.encryption import (
    EncryptionCertificate,
    decrypt_resource_data,
    generate_encryption_certificate,
)
from comms_portal.graph.errors import (
    BadRequest,
    Conflict,
    DecryptionError,
    FailedDependency,
    Forbidden,
    GraphError,
    GraphTimeout,
    GraphTransportError,
    InvalidNotification,
    InvalidResponse,
    NotFound,
    NotificationError,
    ServiceUnavailable,
    Throttled,
    Unauthorized,
    ValidationTokenError,
)
from comms_portal.graph.http import (
    GraphClient,
    GraphResponse,
    RefreshableTokenProvider,
    TokenProvider,
    close_shared_http_clients,
    shared_http_client,
)
from comms_portal.graph.notifications import (
    GRAPH_NOTIFICATION_PUBLISHER_ID,
    ChangeNotification,
    ChangeNotificationCollection,
    EncryptedContent,
    ValidationTokenClaims,
    client_state_matches,
    parse_notifications,
    verify_validation_tokens,
)
from comms_portal.graph.paging import DeltaResult, iter_items, iter_pages, run_delta
from comms_portal.graph.presence import Presence
from comms_portal.graph.subscriptions import Subscription
from comms_portal.graph.users import User, UsersDelta

__all__ = [
    "GRAPH_NOTIFICATION_PUBLISHER_ID",
    "GRAPH_V1_URL",
    "BadRequest",
    "BatchRequest",
    "BatchResult",
    "ChangeNotification",
    "ChangeNotificationCollection",
    "Conflict",
    "DecryptionError",
    "DeltaResult",
    "EncryptedContent",
    "EncryptionCertificate",
    "FailedDependency",
    "Forbidden",
    "GraphClient",
    "GraphError",
    "GraphResponse",
    "GraphSettings",
    "GraphTimeout",
    "GraphTransportError",
    "InvalidNotification",
    "InvalidResponse",
    "NotFound",
    "NotificationError",
    "Presence",
    "RefreshableTokenProvider",
    "RetryPolicy",
    "ServiceUnavailable",
    "Subscription",
    "Throttled",
    "TokenProvider",
    "Unauthorized",
    "User",
    "UsersDelta",
    "ValidationTokenClaims",
    "ValidationTokenError",
    "client_state_matches",
    "close_shared_http_clients",
    "decrypt_resource_data",
    "generate_encryption_certificate",
    "iter_items",
    "iter_pages",
    "parse_notifications",
    "run_delta",
    "send_batch",
    "shared_http_client",
    "verify_validation_tokens",
]
