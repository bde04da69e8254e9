"""Hide rules: which directory entries (rooms, service accounts) colleagues never see."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from comms_portal.graph import User

# Rule field -> attribute of a Graph user.
_RULE_FIELDS = {
    "upn": "user_principal_name",
    "department": "department",
    "usertype": "user_type",
    "jobtitle": "job_title",
    "displayname": "display_name",
}


@dataclass(frozen=True)
class HideRule:
    """Hide people whose ``field`` matches the shell-style ``pattern`` (case-insensitive)."""

    field: str
    pattern: str

    def matches(self, user: User) -> bool:
        """Tell whether this rule hides ``user``."""
        value = getattr(user, _RULE_FIELDS[self.field]) or ""
        return fnmatch.fnmatchcase(str(value).lower(), self.pattern.lower())


def parse_hide_rules(rules: Iterable[str]) -> list[HideRule]:
    """Read ``field:pattern`` rules, refusing unknown fields and empty patterns."""
    parsed: list[HideRule] = []
    for rule in rules:
        field, separator, pattern = rule.partition(":")
        field = field.strip().lower()
        if not separator or field not in _RULE_FIELDS or not pattern.strip():
            known = ", ".join(sorted(_RULE_FIELDS))
            raise ImproperlyConfigured(
                f"DIRECTORY_HIDE_RULES entry {rule!r} must be field:pattern with field one of "
                f"{known}."
            )
        parsed.append(HideRule(field=field, pattern=pattern.strip()))
    return parsed


def is_hidden_by(rules: Sequence[HideRule], user: User) -> bool:
    """Tell whether any rule hides ``user``."""
    return any(rule.matches(user) for rule in rules)
