"""The entry points other parts of the sandbox use: publish a change, start the worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.notifications.hub import NotificationHub
from sandbox.notifications.payloads import change_notification
from sandbox.notifications.registry import subscription_covers
from sandbox.notifications.tokens import mint_validation_token

if TYPE_CHECKING:
    from sandbox.state import SandboxState

_EXTENSION_KEY = "notifications"


def hub_of(state: SandboxState) -> NotificationHub:
    """Return the state's notification hub, creating it on first use."""
    hub = state.extensions.get(_EXTENSION_KEY)
    if not isinstance(hub, NotificationHub):
        hub = NotificationHub(state.clock)
        state.extensions[_EXTENSION_KEY] = hub
    return hub


async def start_notifications(state: SandboxState) -> None:
    """Start the delivery worker; call once from the app's startup."""
    signing_key = state.signing_key

    def mint(tenant_id: str, app_id: str) -> str:
        return mint_validation_token(
            signing_key=signing_key.private_key,
            key_id=signing_key.kid,
            tenant_id=tenant_id,
            audience_app_id=app_id,
            now=state.clock.now(),
        )

    await hub_of(state).start(mint, state.ca_bundle)


async def stop_notifications(state: SandboxState) -> None:
    """Stop the delivery worker; call from the app's shutdown."""
    await hub_of(state).stop()


def publish(
    state: SandboxState,
    resource: str,
    change_type: str,
    resource_data: dict[str, Any],
    *,
    rich_payload: dict[str, Any] | None = None,
) -> int:
    """Queue a notification for every live subscription watching ``resource``.

    ``resource`` is the changed item's path (``users/{id}``, ``communications/presences/{id}``),
    ``resource_data`` the ``@odata.type``/``@odata.id``/``id`` stub every notification carries,
    and ``rich_payload`` the full resource that subscriptions with ``includeResourceData``
    receive encrypted. Returns how many notifications were queued.
    """
    hub = hub_of(state)
    now = state.clock.now()
    queued = 0
    for subscription in hub.subscriptions.all():
        if subscription.is_expired(now) or change_type not in subscription.change_types:
            continue
        if not subscription_covers(subscription.resource, resource):
            continue
        payload = change_notification(
            subscription,
            change_type=change_type,
            resource=resource,
            resource_data=resource_data,
            rich_payload=rich_payload,
        )
        hub.enqueue(subscription, payload, "change")
        queued += 1
    return queued
