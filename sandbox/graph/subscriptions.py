"""``/subscriptions``: create, list, read, renew, delete and reauthorize webhook subscriptions.

https://learn.microsoft.com/graph/api/resources/subscription
Each subscribable resource brings its own rules through the registry in
``sandbox.notifications.registry``; this module applies them and performs the validation
handshake before a subscription exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from starlette.responses import Response

from sandbox.graph.errors import graph_json, no_content
from sandbox.graph.routing import GraphContext, GraphError, Handler, Principal, graph_route
from sandbox.graph.subscription_rules import (
    CERTIFICATE_ID_MAX,
    CLIENT_STATE_MAX,
    SUBSCRIPTION_READ_ALL,
    TLS_VERSIONS,
    WRITABLE_ON_CREATE,
    WRITABLE_ON_UPDATE,
    check_duplicate_and_quotas,
    check_permission,
    check_properties,
    creator_id,
    parse_change_types,
    parse_expiration,
    read_string,
)
from sandbox.notifications.crypto import CertificateError, load_encryption_certificate
from sandbox.notifications.endpoints import (
    check_notification_url,
    handshake_error,
    run_validation_handshake,
)
from sandbox.notifications.hub import NotificationHub
from sandbox.notifications.registry import (
    check_requested_ids,
    find_subscription_resource,
)
from sandbox.notifications.service import hub_of
from sandbox.notifications.subscription import Subscription

# The subscription endpoints accept any token; what it may watch depends on the resource
# and is checked against the registry inside the handlers.
ANY_PERMISSION = ("*",)


async def _validate_endpoint(hub: NotificationHub, url: str, property_name: str) -> None:
    status, latency, failure = await run_validation_handshake(
        hub.client, url, timeout=hub.settings.validation_timeout
    )
    hub.record_validation(url, status, latency, failure)
    if failure:
        raise handshake_error(property_name, status, failure)


def _visible(subscription: Subscription, principal: Principal, *, listing: bool) -> bool:
    """Tell whether ``principal`` may see (and manage) ``subscription``."""
    if subscription.tenant_id != principal.tenant_id:
        return False
    if principal.kind == "application":
        return subscription.application_id == principal.app_id
    same_user = subscription.user_id == principal.user_id
    if listing and SUBSCRIPTION_READ_ALL.lower() in {s.lower() for s in principal.scopes}:
        return same_user
    return same_user and subscription.application_id == principal.app_id


def _owned(ctx: GraphContext) -> tuple[NotificationHub, Subscription]:
    hub = hub_of(ctx.state)
    hub.subscriptions.remove_expired(ctx.state.clock.now())
    subscription_id = unquote(ctx.path_params["subscription_id"])
    subscription = hub.subscriptions.get(subscription_id)
    if subscription is None or not _visible(subscription, ctx.principal, listing=False):
        raise GraphError(
            404, "ResourceNotFound", f"The subscription '{subscription_id}' was not found."
        )
    return hub, subscription


def _entity(ctx: GraphContext, subscription: Subscription) -> dict[str, Any]:
    return {
        "@odata.context": f"{ctx.base_url}/$metadata#subscriptions/$entity",
        **subscription.to_graph(),
    }


# https://learn.microsoft.com/graph/throttling-limits#subscription-service-limits: every
# request counts against "any" (5,000 per 20 s per app per tenant); POST, PUT, PATCH and
# DELETE also against the write limit (1,000 per 20 s).
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def subscription_route(method: str, template: str) -> Callable[[Handler], Handler]:
    """Register a subscription endpoint; each checks its resource's permission itself."""
    throttle = (
        ("subscriptions", "subscriptions-write") if method in WRITE_METHODS else "subscriptions"
    )
    return graph_route(
        method,
        template,
        delegated=ANY_PERMISSION,
        application=ANY_PERMISSION,
        throttle=throttle,
    )


# https://learn.microsoft.com/graph/api/subscription-post-subscriptions
@subscription_route("POST", "/subscriptions")
async def create_subscription(ctx: GraphContext) -> Response:
    """Validate the request and both endpoints, then create the subscription."""
    body = await ctx.json_body()
    check_properties(body, WRITABLE_ON_CREATE)
    hub = hub_of(ctx.state)
    principal = ctx.principal
    now = ctx.state.clock.now()
    change_type_text = read_string(body, "changeType", required=True)
    notification_url = read_string(body, "notificationUrl", required=True)
    resource = read_string(body, "resource", required=True)
    assert change_type_text is not None and notification_url is not None and resource is not None
    entry = find_subscription_resource(resource)
    if entry is None:
        raise GraphError(
            400,
            "InvalidRequest",
            f"The resource '{resource}' is not supported for change notifications.",
        )
    if ctx.version not in entry.versions:
        raise GraphError(
            400,
            "InvalidRequest",
            f"Subscriptions on {entry.name} are only available on {', '.join(entry.versions)}.",
        )
    check_permission(entry, principal)
    change_types = parse_change_types(change_type_text, entry)
    expiration = parse_expiration(
        read_string(body, "expirationDateTime", required=True), entry, now
    )
    client_state = read_string(body, "clientState", required=False)
    if client_state is not None and len(client_state) > CLIENT_STATE_MAX:
        raise GraphError(
            400,
            "InvalidRequest",
            f"clientState is {len(client_state)} characters long; the maximum length is "
            f"{CLIENT_STATE_MAX} characters.",
        )
    allow_remote = hub.settings.allow_remote_hosts
    notification_url = check_notification_url(
        notification_url, "notificationUrl", allow_remote_hosts=allow_remote
    )
    lifecycle_url = read_string(body, "lifecycleNotificationUrl", required=False)
    if lifecycle_url is not None:
        lifecycle_url = check_notification_url(
            lifecycle_url, "lifecycleNotificationUrl", allow_remote_hosts=allow_remote
        )
    tls_version = read_string(body, "latestSupportedTlsVersion", required=False) or "v1_2"
    if tls_version not in TLS_VERSIONS:
        raise GraphError(
            400,
            "InvalidRequest",
            f"latestSupportedTlsVersion '{tls_version}' is not one of {', '.join(TLS_VERSIONS)}.",
        )
    include_data = body.get("includeResourceData", False)
    if include_data is None:
        include_data = False
    if not isinstance(include_data, bool):
        raise GraphError(400, "BadRequest", "The property 'includeResourceData' must be a boolean.")
    certificate_text = read_string(body, "encryptionCertificate", required=False)
    certificate_id = read_string(body, "encryptionCertificateId", required=False)
    if include_data and not entry.supports_resource_data:
        raise GraphError(
            400, "InvalidRequest", f"includeResourceData is not supported for {entry.name}."
        )
    if (include_data or entry.requires_encryption) and not certificate_text:
        raise GraphError(
            400,
            "InvalidRequest",
            "An encryptionCertificate is required when includeResourceData is true"
            + (
                f" and for every subscription on {entry.name}."
                if entry.requires_encryption
                else "."
            ),
        )
    if include_data and not certificate_id:
        raise GraphError(
            400,
            "InvalidRequest",
            "An encryptionCertificateId is required when includeResourceData is true.",
        )
    if certificate_id is not None and len(certificate_id) > CERTIFICATE_ID_MAX:
        raise GraphError(
            400,
            "InvalidRequest",
            f"encryptionCertificateId can be at most {CERTIFICATE_ID_MAX} characters long.",
        )
    certificate = None
    if certificate_text:
        try:
            certificate = load_encryption_certificate(certificate_text)
        except CertificateError as exc:
            raise GraphError(400, "InvalidRequest", str(exc)) from exc
    check_requested_ids(entry, resource)
    if entry.validate is not None:
        entry.validate(resource, principal, ctx.state)
    check_duplicate_and_quotas(hub, entry, principal, resource, change_types, notification_url)

    await _validate_endpoint(hub, notification_url, "notificationUrl")
    if lifecycle_url is not None:
        await _validate_endpoint(hub, lifecycle_url, "lifecycleNotificationUrl")
    # The handshakes yielded to other requests: an identical subscription may exist by now.
    check_duplicate_and_quotas(hub, entry, principal, resource, change_types, notification_url)

    subscription = Subscription(
        id=str(uuid.uuid4()),
        resource=resource,
        resource_kind=entry.name,
        change_types=change_types,
        notification_url=notification_url,
        expiration=expiration,
        application_id=principal.app_id,
        creator_id=creator_id(principal),
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        created_at=now,
        client_state=client_state,
        lifecycle_notification_url=lifecycle_url,
        include_resource_data=include_data,
        encryption_certificate=certificate_text,
        encryption_certificate_id=certificate_id,
        certificate=certificate,
        latest_supported_tls_version=tls_version,
        notification_url_app_id=read_string(body, "notificationUrlAppId", required=False),
        notification_query_options=read_string(body, "notificationQueryOptions", required=False),
        include_organization_id=entry.include_organization_id,
    )
    hub.subscriptions.add(subscription)
    hub.reauthorized(subscription, renewed=True)
    return graph_json(_entity(ctx, subscription), status=201)


# https://learn.microsoft.com/graph/api/subscription-list
@subscription_route("GET", "/subscriptions")
async def list_subscriptions(ctx: GraphContext) -> Response:
    """List the live subscriptions the caller may see; Graph hides their clientState."""
    hub = hub_of(ctx.state)
    hub.subscriptions.remove_expired(ctx.state.clock.now())
    visible = [
        item.to_graph(reveal_client_state=False)
        for item in hub.subscriptions.all()
        if _visible(item, ctx.principal, listing=True)
    ]
    return graph_json(
        {"@odata.context": f"{ctx.base_url}/$metadata#subscriptions", "value": visible}
    )


# https://learn.microsoft.com/graph/api/subscription-get
@subscription_route("GET", "/subscriptions/{subscription_id}")
async def get_subscription(ctx: GraphContext) -> Response:
    """Return one of the caller's subscriptions."""
    _, subscription = _owned(ctx)
    return graph_json(_entity(ctx, subscription))


# https://learn.microsoft.com/graph/api/subscription-update
@subscription_route("PATCH", "/subscriptions/{subscription_id}")
async def update_subscription(ctx: GraphContext) -> Response:
    """Renew a subscription (which also reauthorizes it), or move its notificationUrl."""
    body = await ctx.json_body()
    check_properties(body, WRITABLE_ON_UPDATE)
    hub, subscription = _owned(ctx)
    entry = find_subscription_resource(subscription.resource)
    if entry is None:
        raise GraphError(
            400, "InvalidRequest", f"The resource '{subscription.resource}' is no longer supported."
        )
    check_permission(entry, ctx.principal)
    now = ctx.state.clock.now()
    expiration = subscription.expiration
    if "expirationDateTime" in body:
        expiration = parse_expiration(
            read_string(body, "expirationDateTime", required=True), entry, now
        )
    notification_url = subscription.notification_url
    if body.get("notificationUrl") is not None:
        notification_url = check_notification_url(
            body["notificationUrl"],
            "notificationUrl",
            allow_remote_hosts=hub.settings.allow_remote_hosts,
        )
        if notification_url != subscription.notification_url:
            await _validate_endpoint(hub, notification_url, "notificationUrl")
    _rotate_certificate(body, subscription)
    subscription.expiration = expiration
    subscription.notification_url = notification_url
    hub.reauthorized(subscription, renewed=True)
    return graph_json(_entity(ctx, subscription))


def _rotate_certificate(body: dict[str, Any], subscription: Subscription) -> None:
    """Switch a rich subscription to a new certificate; both the key and its id must come."""
    certificate_text = read_string(body, "encryptionCertificate", required=False)
    certificate_id = read_string(body, "encryptionCertificateId", required=False)
    if certificate_text is None and certificate_id is None:
        return
    if not certificate_text or not certificate_id:
        raise GraphError(
            400,
            "InvalidRequest",
            "encryptionCertificate and encryptionCertificateId must be updated together.",
        )
    if len(certificate_id) > CERTIFICATE_ID_MAX:
        raise GraphError(
            400,
            "InvalidRequest",
            f"encryptionCertificateId can be at most {CERTIFICATE_ID_MAX} characters long.",
        )
    try:
        certificate = load_encryption_certificate(certificate_text)
    except CertificateError as exc:
        raise GraphError(400, "InvalidRequest", str(exc)) from exc
    subscription.encryption_certificate = certificate_text
    subscription.encryption_certificate_id = certificate_id
    subscription.certificate = certificate


# https://learn.microsoft.com/graph/api/subscription-delete
@subscription_route("DELETE", "/subscriptions/{subscription_id}")
async def delete_subscription(ctx: GraphContext) -> Response:
    """Delete one of the caller's subscriptions; no lifecycle notification follows."""
    hub, subscription = _owned(ctx)
    hub.remove(subscription.id, notify=False)
    return no_content()


# https://learn.microsoft.com/graph/api/subscription-reauthorize
@subscription_route("POST", "/subscriptions/{subscription_id}/reauthorize")
async def reauthorize_subscription(ctx: GraphContext) -> Response:
    """Answer a reauthorizationRequired challenge without changing the expiration."""
    hub, subscription = _owned(ctx)
    entry = find_subscription_resource(subscription.resource)
    if entry is not None:
        check_permission(entry, ctx.principal)
    hub.reauthorized(subscription, renewed=False)
    return no_content()
