"""The last Graph errors the portal met, kept in Redis for the admin page."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from comms_portal.graph import GraphError
from comms_portal.redis_client import get_redis

logger = logging.getLogger(__name__)

GRAPH_ERRORS_KEY = "portal:graph-errors"
# Enough to see a pattern; old entries fall off so the list never grows without bound.
KEPT_ERRORS = 100
APP_CALLER = "app"


@dataclass(frozen=True)
class RecordedGraphError:
    """One Graph error as the admin page shows it."""

    time: datetime
    status: int | None
    code: str
    message: str
    request_id: str | None
    method: str
    path: str
    who: str


class GraphErrorRecorder:
    """Push each error a Graph client raises to a capped Redis list, naming the caller."""

    def __init__(self, who: str) -> None:
        self.who = who

    def __call__(self, error: GraphError, method: str, path: str) -> None:
        entry = {
            "time": datetime.now(UTC).isoformat(),
            "status": error.status,
            "code": error.code,
            "message": error.message[:500],
            "request_id": error.request_id,
            "method": method,
            "path": path,
            "who": self.who,
        }
        try:
            pipeline = get_redis().pipeline()
            pipeline.lpush(GRAPH_ERRORS_KEY, json.dumps(entry))
            pipeline.ltrim(GRAPH_ERRORS_KEY, 0, KEPT_ERRORS - 1)
            pipeline.execute()
        except redis.RedisError:
            # The record is a diagnostic; losing it must not turn one failure into two.
            logger.warning("could not record a Graph error in Redis", exc_info=True)


def _entry_from(raw: bytes) -> RecordedGraphError | None:
    try:
        data = json.loads(raw)
        when = datetime.fromisoformat(str(data["time"]))
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    status = data.get("status")
    request_id = data.get("request_id")
    return RecordedGraphError(
        time=when,
        status=status if isinstance(status, int) else None,
        code=str(data.get("code") or ""),
        message=str(data.get("message") or ""),
        request_id=request_id if isinstance(request_id, str) else None,
        method=str(data.get("method") or ""),
        path=str(data.get("path") or ""),
        who=str(data.get("who") or ""),
    )


def recent_graph_errors(limit: int = 20) -> list[RecordedGraphError]:
    """Return the newest recorded Graph errors first; skip entries that cannot be read."""
    raw_entries = get_redis().lrange(GRAPH_ERRORS_KEY, 0, limit - 1)
    entries = (_entry_from(raw) for raw in raw_entries)
    return [entry for entry in entries if entry is not None]
