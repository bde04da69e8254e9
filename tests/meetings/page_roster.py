"""A meeting page's roster as the page keeps it: a snapshot, then changes applied in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PageRoster:
    """What a page shows, and the version numbers it skipped or got twice."""

    version: int = -1
    running: bool = False
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    gaps: int = 0
    stale: int = 0
    count_mismatches: int = 0

    def take(self, message: dict[str, Any]) -> None:
        """Apply a live message or a snapshot, as the page's script does."""
        if message.get("type") not in ("roster", "roster-delta"):
            return
        if message["version"] <= self.version:
            self.stale += 1
            return
        if message["type"] == "roster":
            self.people = {person["key"]: person for person in message["people"]}
        else:
            if message["version"] != self.version + 1:
                self.gaps += 1
            for key in message["left"]:
                self.people.pop(key, None)
            for person in [*message["joined"], *message["changed"]]:
                self.people[person["key"]] = person
            if message["count"] != len(self.people):
                self.count_mismatches += 1
        self.version = message["version"]
        self.running = message["running"]

    def names(self) -> list[tuple[str, bool]]:
        """Return the people shown, by name, with whether each waits in the lobby."""
        return sorted((str(p["name"]), bool(p["inLobby"])) for p in self.people.values())
