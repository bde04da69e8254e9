"""Pinning colleagues to the top of one's wall."""

from __future__ import annotations

from accounts.models import User
from directory.models import Person
from presence.models import Favourite


def set_favourite(*, user: User, person: Person, favourite: bool) -> bool:
    """Pin or unpin ``person`` for ``user``; return whether they are now a favourite."""
    if favourite:
        Favourite.objects.get_or_create(user=user, person=person)
    else:
        Favourite.objects.filter(user=user, person=person).delete()
    return favourite
