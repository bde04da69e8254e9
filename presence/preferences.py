"""How each person likes the wall shown, kept on the server so the first render is right."""

from __future__ import annotations

from accounts.models import User
from presence.models import WallPreference

LAYOUTS = tuple(key for key, _ in WallPreference.LAYOUTS)
SORTS = tuple(key for key, _ in WallPreference.SORTS)
GROUPS = tuple(key for key, _ in WallPreference.GROUPS)
# Orders whose natural direction is from the largest: the most recent change first.
NEWEST_FIRST = frozenset({"since"})


def natural_descending(sort: str) -> bool:
    """Tell whether ``sort`` runs from the largest value when first chosen."""
    return sort in NEWEST_FIRST


def wall_preference(user: User) -> WallPreference:
    """Return the person's wall preference, or the default one (unsaved) if they have none."""
    found = WallPreference.objects.filter(user=user).first()
    return found if found is not None else WallPreference(user=user)


def save_wall_preference(
    *, user: User, layout: str, sort: str, descending: bool, group: str
) -> WallPreference:
    """Remember how ``user`` wants the wall shown (idempotent)."""
    if layout not in LAYOUTS or sort not in SORTS or group not in GROUPS:
        raise ValueError(f"not a wall preference: {layout!r}, {sort!r}, {group!r}")
    preference, _ = WallPreference.objects.update_or_create(
        user=user,
        defaults={"layout": layout, "sort": sort, "descending": descending, "group": group},
    )
    return preference


def save_announce_preference(*, user: User, announce: bool) -> WallPreference:
    """Remember whether ``user`` wants presence changes of the people they follow read out."""
    preference, _ = WallPreference.objects.update_or_create(
        user=user, defaults={"announce_changes": announce}
    )
    return preference
