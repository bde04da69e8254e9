"""People the tenant disabled or deleted: signed out everywhere and kept out until enabled.

Connected to the directory's ``people_removed``, ``people_disabled`` and ``people_enabled``
signals (see ``AccountsConfig``), which name people by Entra object id within a tenant.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Q

from accounts.models import User
from accounts.sessions import close_every_socket, end_every_session
from accounts.token_store import forget_user_tokens
from comms_portal.live.control import DISABLED

logger = logging.getLogger(__name__)

QUERY_CHUNK = 900


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[start : start + QUERY_CHUNK] for start in range(0, len(items), QUERY_CHUNK)]


def keep_out(sender: object, *, graph_ids: Sequence[str], tenant_id: str, **_: object) -> None:
    """Deactivate the portal users of these people, end their sessions, tokens and sockets."""
    for chunk in _chunks(list(graph_ids)):
        # Those already inactive are taken again while anything of theirs remains, so a run
        # cut short (Redis down, say) is finished by the next sync that names them.
        users = (
            User.objects.filter(tenant_id=tenant_id, object_id__in=chunk)
            .filter(
                Q(is_active=True)
                | Q(token_cache__isnull=False)
                | Q(signed_in_sessions__isnull=False)
            )
            .distinct()
        )
        for user in users:
            _keep_out(user)


def _keep_out(user: User) -> None:
    # Inactive first: from this moment every request, socket and background token refuses
    # them, whatever fails after.
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False, is_portal_admin=False)
        sessions = end_every_session(user)
    forget_user_tokens(user)
    close_every_socket(user.pk, reason=DISABLED)
    logger.info(
        "user %s kept out, disabled or removed in the tenant (%d sessions)", user.pk, sessions
    )


def let_back_in(sender: object, *, graph_ids: Sequence[str], tenant_id: str, **_: object) -> None:
    """Let people enabled again in the tenant sign in again."""
    for chunk in _chunks(list(graph_ids)):
        back = User.objects.filter(tenant_id=tenant_id, object_id__in=chunk, is_active=False)
        for user_id in back.values_list("pk", flat=True):
            logger.info("user %s may sign in again: enabled in the tenant", user_id)
        back.update(is_active=True)
