"""The per-process fan-out on the real Redis: who gets what, and how it heals."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
from django.conf import settings

from comms_portal.live import fanout
from comms_portal.live.fanout import Fanout, FanoutUnavailable

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Page:
    """A listener as a socket is one: it keeps what it is handed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.received: list[str] = []
        self.resyncs = 0
        self.arrived = asyncio.Event()

    def deliver(self, text: str) -> None:
        self.received.append(text)
        self.arrived.set()

    def resync(self) -> None:
        self.resyncs += 1
        self.arrived.set()

    async def next_text(self, timeout: float = 5.0) -> str:
        await asyncio.wait_for(self.arrived.wait(), timeout)
        self.arrived.clear()
        return self.received[-1]


@pytest.fixture
async def hub() -> AsyncIterator[Fanout]:
    made = Fanout(settings.REDIS_URL)
    yield made
    await made.close()


@pytest.fixture
async def publisher() -> AsyncIterator[redis.asyncio.Redis]:  # type: ignore[type-arg]
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    yield client
    await client.aclose()


async def subscribers(client: redis.asyncio.Redis, topic: str) -> int:  # type: ignore[type-arg]
    counts = await client.pubsub_numsub(topic)
    return int(counts[0][1])


async def test_a_message_reaches_only_the_pages_following_its_topic(
    hub: Fanout,
    publisher: redis.asyncio.Redis,  # type: ignore[type-arg]
) -> None:
    ada_page, alan_page, both = Page("ada"), Page("alan"), Page("both")
    await hub.follow(ada_page, {"t.ada"})
    await hub.follow(alan_page, {"t.alan"})
    await hub.follow(both, {"t.ada", "t.alan"})

    # follow() returned, so Redis already holds the subscriptions: nothing can be missed.
    await publisher.publish("t.ada", "ada is busy")
    assert await ada_page.next_text() == "ada is busy"
    assert await both.next_text() == "ada is busy"
    await publisher.publish("t.alan", "alan is away")
    assert await alan_page.next_text() == "alan is away"
    assert await both.next_text() == "alan is away"
    assert ada_page.received == ["ada is busy"]
    assert alan_page.received == ["alan is away"]
    # One subscription per process, however many pages follow the topic.
    assert await subscribers(publisher, "t.ada") == 1


async def test_a_topic_nobody_follows_is_unsubscribed(
    hub: Fanout,
    publisher: redis.asyncio.Redis,  # type: ignore[type-arg]
) -> None:
    first, second = Page("first"), Page("second")
    await hub.follow(first, {"t.grace", "t.hedy"})
    await hub.follow(second, {"t.grace"})
    await hub.follow(first, {"t.hedy"})
    assert await subscribers(publisher, "t.grace") == 1  # the second page still follows it
    await hub.forget(second)
    await hub.follow(first, {"t.hedy"})  # a round trip after the UNSUBSCRIBE
    assert await subscribers(publisher, "t.grace") == 0
    await publisher.publish("t.grace", "nobody hears this")
    await publisher.publish("t.hedy", "hedy is free")
    assert await first.next_text() == "hedy is free"
    assert second.received == []


async def test_a_cut_connection_is_restored_and_every_page_told_to_resync(
    hub: Fanout,
    publisher: redis.asyncio.Redis,  # type: ignore[type-arg]
) -> None:
    pages = [Page(f"page-{n}") for n in range(3)]
    for number, page in enumerate(pages):
        await hub.follow(page, {f"t.cut-{number}", "t.cut-shared"})

    assert await publisher.client_kill_filter(_type="pubsub", skipme=True) >= 1
    for page in pages:
        await asyncio.wait_for(page.arrived.wait(), 10)
        page.arrived.clear()
        assert page.resyncs == 1
    assert hub.reconnections == 1

    await publisher.publish("t.cut-shared", "after the cut")
    for page in pages:
        assert await page.next_text() == "after the cut"
    await publisher.publish("t.cut-2", "only the third")
    assert await pages[2].next_text() == "only the third"


async def test_a_process_that_stood_still_does_not_take_redis_for_dead(
    hub: Fanout,
    publisher: redis.asyncio.Redis,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fanout, "HEARTBEAT_SECONDS", 0.2)
    page = Page("ada")
    await hub.follow(page, {"t.still"})
    await asyncio.sleep(0.5)  # a few heartbeats, answered

    # The process itself stops for longer than two heartbeats (a stopped or blocked loop, or
    # a test suite running other tests): Redis was not silent, nobody was listening.
    time.sleep(1.0)
    await asyncio.sleep(0.5)

    assert hub.reconnections == 0
    assert page.resyncs == 0
    await publisher.publish("t.still", "still here")
    assert await page.next_text() == "still here"


async def test_follow_says_so_when_redis_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fanout, "FOLLOW_TIMEOUT_SECONDS", 0.5)
    unreachable = Fanout("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(FanoutUnavailable, match="Redis does not answer"):
            await unreachable.follow(Page("lonely"), {"t.lonely"})
        # The page stays registered: it is subscribed once Redis answers.
        assert unreachable.following("t.lonely") == 1
    finally:
        await unreachable.close()


async def test_many_pages_changing_what_they_follow_at_once_end_subscribed_exactly(
    hub: Fanout,
    publisher: redis.asyncio.Redis,  # type: ignore[type-arg]
) -> None:
    topics = [f"t.churn-{n}" for n in range(12)]
    pages = [Page(f"churn-{n}") for n in range(40)]
    chooser = random.Random(5)

    final: dict[str, set[str]] = {}

    async def churn(page: Page) -> None:
        for _ in range(15):
            if chooser.random() < 0.2:
                final[page.name] = set()
                await hub.forget(page)
            else:
                chosen = set(chooser.sample(topics, chooser.randint(0, 4)))
                final[page.name] = chosen
                await hub.follow(page, chosen)

    await asyncio.gather(*(churn(page) for page in pages))
    settle = Page("settle")
    await hub.follow(settle, {"t.settle"})  # a round trip after every command sent above
    for topic in topics:
        following = sum(topic in chosen for chosen in final.values())
        assert hub.following(topic) == following, topic
        assert await subscribers(publisher, topic) == min(following, 1), topic
    for page in pages:
        page.received.clear()
    for topic in topics:
        await publisher.publish(topic, topic)
    await asyncio.sleep(0.3)
    for page in pages:
        assert sorted(page.received) == sorted(final[page.name]), page.name


class BrokenPage(Page):
    def deliver(self, text: str) -> None:
        raise RuntimeError("this socket is broken")


async def test_a_broken_page_does_not_stop_the_others(
    hub: Fanout,
    publisher: redis.asyncio.Redis,  # type: ignore[type-arg]
) -> None:
    broken, fine = BrokenPage("broken"), Page("fine")
    await hub.follow(broken, {"t.shared"})
    await hub.follow(fine, {"t.shared"})
    await publisher.publish("t.shared", "first")
    await publisher.publish("t.shared", "second")
    for _ in range(100):
        if len(fine.received) == 2:
            break
        await asyncio.sleep(0.05)
    assert fine.received == ["first", "second"]
