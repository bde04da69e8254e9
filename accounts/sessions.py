"""Sessions of signed-in people: a fixed lifetime, a record of each, and their end.

Connected to Django's ``user_logged_in`` and ``user_logged_out`` (see ``AccountsConfig``).
A sign-in lasts ``SESSION_COOKIE_AGE`` from the moment it is made, so the live socket can
close at the very moment its session ends. Signing out closes that session's sockets at once
and no other: the person's other browsers stay signed in.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from importlib import import_module
from typing import Any

import redis
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import SignedInSession, User
from comms_portal.live.control import SIGNED_OUT, close_sockets

logger = logging.getLogger(__name__)


def start_session(sender: object, *, request: HttpRequest, user: User, **_: object) -> None:
    """Fix a new sign-in's end and note its session under the person."""
    session = request.session
    session.set_expiry(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE))
    if session.session_key is None:
        # A sign-in replacing another person's flushes the session: give it its key now.
        session.save()
    key = session.session_key
    assert key is not None
    # Sessions that ended on their own are pruned here, so the record never grows unbounded.
    SignedInSession.objects.filter(user=user, expires_at__lte=timezone.now()).delete()
    SignedInSession.objects.update_or_create(
        session_key=key, defaults={"user": user, "expires_at": session.get_expiry_date()}
    )


def end_session(sender: object, *, request: HttpRequest, user: User | None, **_: object) -> None:
    """Forget a signed-out session and close the sockets opened with it, only those."""
    key = request.session.session_key
    if user is None or key is None:
        return
    SignedInSession.objects.filter(session_key=key).delete()
    _close_quietly(user.pk, session_key=key, reason=SIGNED_OUT)


def end_every_session(user: User) -> int:
    """Delete every session ``user`` signed in with; return how many were recorded."""
    store_class: Any = import_module(settings.SESSION_ENGINE).SessionStore
    keys = list(user.signed_in_sessions.values_list("session_key", flat=True))
    for key in keys:
        store_class(session_key=key).delete()
    SignedInSession.objects.filter(user=user).delete()
    return len(keys)


def _close_quietly(user_id: int, *, session_key: str | None, reason: str) -> None:
    try:
        close_sockets(user_id, reason=reason, session_key=session_key)
    except (redis.RedisError, OSError) as error:
        # Signing out must not fail for it: each socket checks its session at its next
        # watch message and closes at the session's end in any case.
        logger.warning("sockets of user %s not told to close: %s", user_id, error)


def close_every_socket(user_id: int, *, reason: str) -> None:
    """Close every open socket of ``user_id``, whatever session it belongs to."""
    _close_quietly(user_id, session_key=None, reason=reason)
