"""What a page may watch: the shape of its watch message and every topic's check.

Every watch message is checked in full, not only the first: what a person may see can change
while their page stays open. One refused topic refuses the whole message, so a page never
watches half of what it asked for without knowing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from asgiref.sync import sync_to_async

from comms_portal.live.topics import TopicKind, UnknownTopic, split_topic

# A page never watches more topics than this at once.
MAX_TOPICS = 1000


class WatchRejected(ValueError):
    """A message the socket cannot honour; ``reply()`` is what the page is told."""

    def __init__(self, error: str, refused: list[str] | None = None) -> None:
        super().__init__(error)
        self.refused = refused

    def reply(self) -> dict[str, Any]:
        """Return the error message for the page."""
        answer: dict[str, Any] = {"type": "error", "error": str(self)}
        if self.refused is not None:
            answer["refused"] = self.refused
        return answer


def parse_watch(content: object) -> list[str]:
    """Return the topics of a ``{"type": "watch", "topics": [...]}`` message, in order, once."""
    if not isinstance(content, dict):
        raise WatchRejected("a message must be a JSON object")
    if content.get("type") != "watch":
        raise WatchRejected(f"unknown message type {content.get('type')!r}; send 'watch'")
    topics = content.get("topics")
    if not isinstance(topics, list):
        raise WatchRejected("'topics' must be a list of topics such as 'presence:<id>'")
    if len(topics) > MAX_TOPICS:
        raise WatchRejected(f"at most {MAX_TOPICS} topics can be watched at once")
    for topic in topics:
        if not isinstance(topic, str):
            raise WatchRejected(f"{str(topic)[:80]!r} is not a topic: topics are text")
    return list(dict.fromkeys(topics))


async def refused_topics(user: Any, topics: list[str]) -> dict[str, str]:
    """Return each topic ``user`` may not watch, with the reason, checking every kind once."""
    refused: dict[str, str] = {}
    keys_of: dict[TopicKind, list[str]] = defaultdict(list)
    for topic in topics:
        try:
            kind, key = split_topic(topic)
        except UnknownTopic as unknown:
            refused[topic] = str(unknown)
            continue
        keys_of[kind].append(key)
    for kind, keys in keys_of.items():
        if kind.queries_database:
            denied = await sync_to_async(kind.refused_keys)(user, keys)
        else:
            denied = kind.refused_keys(user, keys)
        for key in denied:
            topic = f"{kind.name}:{key}"
            refused[topic] = f"you may not watch {topic!r}"
    # In the page's order, and only what it asked for.
    return {topic: refused[topic] for topic in topics if topic in refused}


async def allowed_watch(user: Any, content: object) -> frozenset[str]:
    """Return the topics of a watch message that ``user`` may follow, or raise WatchRejected."""
    topics = parse_watch(content)
    refused = await refused_topics(user, topics)
    if refused:
        first = next(iter(refused.values()))
        more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
        raise WatchRejected(
            f"watch refused, still watching what was watched before: {first}{more}",
            refused=list(refused),
        )
    return frozenset(topics)
