"""App-only presence polls: 650 people a request, a shared budget, 429s, a Redis restart."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from accounts.graph_clients import graph_for_app
from comms_portal.graph.users import list_users
from comms_portal.processes import free_port, redis_answers, redis_server_command
from presence import polling, ratelimit, store, watchlist
from presence.services import watch_people
from tests.presence.engine_fixtures import (  # noqa: F401  (fixtures)
    Control,
    clean_presence,
    point_settings_at,
    start_private_sandbox,
    user_id_of,
    wait_for,
)
from tests.support.cast import GRACE, SAMUEL
from tests.support.sandbox import RunningSandbox

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_presence")]
PEOPLE = 1400
POLL_LINE = "POST /v1.0/communications/getPresencesByUserId"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A private tenant big enough to need several requests per poll."""
    running = start_private_sandbox(Path(tmp_path_factory.mktemp("polling-sandbox")), users=PEOPLE)
    yield running
    running.stop()


@pytest.fixture
def control(sandbox: RunningSandbox) -> Iterator[Control]:
    client = Control(sandbox.info["control_url"])
    client("POST", "/presence/pause", {})
    yield client
    client("DELETE", "/faults")
    client.close()


@pytest.fixture(autouse=True)
def on_private_sandbox(settings: SettingsWrapper, sandbox: RunningSandbox) -> None:
    point_settings_at(settings, sandbox)


def everyone(sandbox: RunningSandbox) -> list[str]:
    """Return the id of every person of the tenant, read from Graph (the info file lists 200)."""
    return [user.id for user in list_users(graph_for_app(), page_size=999)]


def polls_sent(sandbox: RunningSandbox) -> int:
    return sandbox.output().count(POLL_LINE)


def test_watched_people_are_polled_650_to_a_request(sandbox: RunningSandbox) -> None:
    people = everyone(sandbox)
    assert len(people) > 2 * 650
    watchlist.mark_watched(people)
    before = polls_sent(sandbox)

    result = polling.poll_uncovered()

    assert result.requests == math.ceil(len(people) / 650) == 3
    assert wait_for(lambda: polls_sent(sandbox) - before == 3, what="three requests logged")
    assert result.read == len(people)
    assert len(store.get_many(people)) == len(people)
    # Nothing changed since: the next pass reads nobody the store lacks or nobody covers...
    assert polling.poll_uncovered().changed == 0


def test_polls_stay_inside_the_shared_request_budget(
    sandbox: RunningSandbox, settings: SettingsWrapper
) -> None:
    settings.PRESENCE_REQUESTS_PER_30S = 1
    people = everyone(sandbox)

    result = polling.poll_people(people)

    assert result.requests == 1 and result.deferred == len(people) - 650
    assert len(store.get_many(people)) == 650


def test_a_429_is_honoured_and_later_polls_wait(sandbox: RunningSandbox, control: Control) -> None:
    people = everyone(sandbox)[:10]
    control(
        "POST",
        "/faults",
        {
            "path": "/v1.0/communications/getPresencesByUserId",
            "kind": "429",
            "count": 3,
            "retry_after": 120,
        },
    )

    first = polling.poll_people(people)
    assert first.throttled and first.read == 0 and ratelimit.backing_off()
    before = polls_sent(sandbox)

    second = polling.poll_people(people)

    assert second.throttled and second.requests == 0 and polls_sent(sandbox) == before
    assert store.get_many(people) == {}


def test_polled_presence_follows_the_sandbox(sandbox: RunningSandbox, control: Control) -> None:
    grace = user_id_of(sandbox.info, GRACE)
    control("POST", f"/presence/{grace}", {"availability": "Busy", "activity": "InACall"})
    polling.poll_people([grace])
    control(
        "POST",
        f"/presence/{grace}",
        {"availability": "Available", "activity": "Available", "statusMessage": "Back at 3"},
    )
    change = polling.poll_people([grace])

    stored = store.get_one(grace)
    assert stored is not None and stored.availability == "Available"
    assert stored.status_message == "Back at 3" and stored.source == "poll"
    assert (change.read, change.changed) == (1, 1)


@pytest.fixture
def private_redis(tmp_path: Path, settings: SettingsWrapper) -> Iterator[Callable[[], None]]:
    """A Redis of this test's own, which the test can restart; the portal points at it."""
    port = free_port()
    command = redis_server_command(port, tmp_path)
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
        wait_for(lambda: redis_answers("127.0.0.1", port), what="the private redis")

    def restart() -> None:
        processes[-1].terminate()
        processes[-1].wait(timeout=10)
        start()

    start()
    session_redis = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    yield restart
    settings.REDIS_URL = session_redis
    processes[-1].terminate()
    processes[-1].wait(timeout=10)


def test_the_engine_carries_on_after_a_redis_restart(
    sandbox: RunningSandbox, control: Control, private_redis: Callable[[], None]
) -> None:
    samuel = user_id_of(sandbox.info, SAMUEL)
    control("POST", f"/presence/{samuel}", {"availability": "Away", "activity": "Away"})
    watchlist.mark_watched([samuel])
    assert polling.poll_uncovered().read == 1
    assert store.get_one(samuel) is not None

    private_redis()

    # Everything in Redis is gone; the pages that show Samuel say so again on reconnect.
    assert store.get_one(samuel) is None and watchlist.watched_ids() == []
    watch_people([samuel])
    result = polling.poll_uncovered()

    assert result.read == 1
    stored = store.get_one(samuel)
    assert stored is not None and stored.availability == "Away"
