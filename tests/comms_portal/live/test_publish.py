"""Publishing from worker processes: every message reaches the pages, forked or not."""

from __future__ import annotations

import multiprocessing

import pytest

from comms_portal import live
from presence.topics import presence_topic
from tests.support.live import TopicInbox, live_fanout

pytestmark = pytest.mark.usefixtures(live_fanout.__name__)

PERSON = "7d5bd1a8-4a0b-4b57-9f3e-2f8e4f5c1a01"


def _publish_change(number: int) -> None:
    live.publish(presence_topic(PERSON), {"type": "presence", "number": number})


def test_pages_hear_a_worker_forked_after_its_parent_had_published() -> None:
    inbox = TopicInbox(presence_topic(PERSON))
    try:
        _publish_change(1)
        # Celery's prefork pool forks its processes from one that may have published already.
        child = multiprocessing.get_context("fork").Process(target=_publish_change, args=(2,))
        child.start()
        child.join(timeout=30)
        assert child.exitcode == 0
        _publish_change(3)
        numbers = [message["number"] for message in inbox.messages()]
    finally:
        inbox.close()
    assert numbers == [1, 2, 3]
