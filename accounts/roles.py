"""The portal admin role, read from the ``roles`` claim of each id_token the person gets.

Sign-in sets it; every later id_token the authority issues for the person (at each token
refresh, so at least daily through the profile refresh) sets it again, so an app-role
assignment removed in the tenant takes effect without waiting for the session to end.
"""

from __future__ import annotations

import logging

from accounts.identity import (
    AuthorityUnreachable,
    IdTokenRejected,
    holds_admin_role,
    verify_id_token,
)
from accounts.models import User

logger = logging.getLogger(__name__)


def reread_admin_role(user: User, id_token: str) -> bool:
    """Set ``user``'s admin role from a freshly issued id_token; return the role now held."""
    try:
        claims = verify_id_token(id_token, check_lifetime=False)
    except AuthorityUnreachable as error:
        # The signing keys could not be fetched: nothing was learnt, so nothing changes.
        logger.warning("admin role of user %s not re-read: %s", user.pk, error)
        return user.is_portal_admin
    except IdTokenRejected as rejected:
        # A token from our own authority that fails its checks confirms no role: fail closed.
        logger.warning("refreshed id_token of user %s refused: %s", user.pk, rejected.reason)
        claims = {}
    same_person = (claims.get("tid"), claims.get("oid")) == (user.tenant_id, user.object_id)
    admin = same_person and holds_admin_role(claims)
    if admin != user.is_portal_admin:
        User.objects.filter(pk=user.pk).update(is_portal_admin=admin)
        user.is_portal_admin = admin
        logger.info("user %s %s the admin role", user.pk, "gains" if admin else "loses")
    return admin
