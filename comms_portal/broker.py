"""Celery's broker transport: kombu's Redis transport, kept working while Redis refuses writes.

A full Redis (``maxmemory`` with ``noeviction``) refuses every command queued in a MULTI and
every write that adds data, while deletions and BRPOP still go through. Kombu keeps a copy of
each task a worker takes until it is acknowledged (``unacked``), written and deleted in MULTI
transactions: a refused copy loses a task already taken off its queue, and a refused
acknowledgement leaves a copy that Redis hands out again an hour later (the visibility
timeout), so the task runs twice.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

logger = logging.getLogger(__name__)


class QoS(kombu_redis.QoS):
    """Kombu's bookkeeping of taken tasks, which never drops a task Redis refused to copy."""

    def append(self, message: Any, delivery_tag: str) -> None:
        try:
            super().append(message, delivery_tag)
        except redis.ResponseError as error:
            # The task has left its queue already: run it without the copy (lost only if
            # this worker dies before it is done) rather than drop it now.
            logger.warning("task %s taken without its broker copy: %s", delivery_tag, error)
            virtual.QoS.append(self, message, delivery_tag)

    def ack(self, delivery_tag: str) -> None:
        # Two deletions outside MULTI, which a full Redis still accepts. The copy goes first:
        # should the worker die between the two, the index entry left behind points to
        # nothing and is dropped when the index is next swept.
        channel: Any = self.channel  # kombu's Redis channel
        with channel.conn_or_acquire() as client:
            pipeline = client.pipeline(transaction=False)
            pipeline.hdel(self.unacked_key, delivery_tag)
            pipeline.zrem(self.unacked_index_key, delivery_tag)
            pipeline.execute()
        virtual.QoS.ack(self, delivery_tag)


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    """Kombu's Redis transport with :class:`QoS` (``CELERY_BROKER_TRANSPORT``)."""

    Channel = Channel
