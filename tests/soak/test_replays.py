"""Graph sending notifications again, late and out of order, with and without sequenceNumber."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.graph.test_encryption import encrypt_like_graph
from tests.soak.harness import SoakStack
from tests.soak.report import Row
from tests.soak.scenario import run_scenario, verdict
from tests.soak.services import POSTGRES_ADMIN_URL

pytestmark = [pytest.mark.soak, pytest.mark.timeout(900)]

INBOX = "portal:notifications:inbox"
PEOPLE = 3
CHANGES_EACH = 3


def post_bodies(run: SoakStack, bodies: list[bytes]) -> list[int]:
    """Post ``bodies`` to the intake as Graph does; return the answers."""
    url = f"{run.base_url}/graph/notifications/presence"
    with httpx.Client(timeout=30) as http:
        return [http.post(url, content=body).status_code for body in bodies]


def current_certificate(run: SoakStack) -> tuple[str, str]:
    """Return the id and the public certificate Graph encrypts the portal's content with."""
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{run.database_name}"
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT certificate_id, certificate_base64 FROM notifications_notificationcertificate"
            " WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
    assert row is not None, "the portal has no notification certificate"
    return str(row[0]), str(row[1])


def without_sequence_number(run: SoakStack, body: bytes) -> bytes:
    """Return ``body`` saying its person is Offline, encrypted as Graph does, with no
    ``sequenceNumber``: a late notification that cannot be ordered."""
    certificate_id, certificate = current_certificate(run)
    document = json.loads(body)
    for item in document["value"]:
        person = item["resourceData"]["id"]
        presence = {
            "@odata.type": "#Microsoft.Graph.presence",
            "id": person,
            "availability": "Offline",
            "activity": "Offline",
        }
        content = encrypt_like_graph(certificate, json.dumps(presence).encode(), key=os.urandom(32))
        content["encryptionCertificateId"] = certificate_id
        item["encryptedContent"] = content
    return json.dumps(document).encode()


def replay_late_and_twice(run: SoakStack) -> dict[str, Any]:
    """Keep real bodies back while the worker is stopped, then send them again, in reverse
    order and twice, with and without their sequenceNumber."""
    client = run.redis_client()
    run.stop_worker()
    driver = run.driver()
    for _ in range(CHANGES_EACH):
        for person in run.watched[:PEOPLE]:
            driver.change(person)
        time.sleep(1)
    # The sandbox's deliveries land in the inbox: wait until it has none left to make.
    settle(lambda: run.sandbox_pending() == 0 and client.llen(INBOX) >= PEOPLE * CHANGES_EACH)
    captured = [bytes(raw) for raw in client.lrange(INBOX, 0, -1)]
    run.start_worker()
    settle(lambda: handled_all(run))
    out_of_order = list(reversed(captured))
    answers = post_bodies(run, out_of_order + out_of_order)
    unordered = [without_sequence_number(run, body) for body in captured[:PEOPLE]]
    answers += post_bodies(run, unordered + unordered)
    # Every replay handled before the state is compared: one handled late could still move
    # a person backwards after the comparison.
    settle(lambda: handled_all(run))
    return {
        "captured_bodies": len(captured),
        "replayed": len(out_of_order) * 2,
        "replayed_without_sequence_number": len(unordered) * 2,
        "answers": sorted(set(answers)),
    }


SETTLE_SECONDS = 60.0


def settle(done: Callable[[], bool]) -> None:
    """Wait until ``done()`` holds, looking often; fail after ``SETTLE_SECONDS``."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not settled in {SETTLE_SECONDS:.0f} s")
        time.sleep(0.2)


def handled_all(run: SoakStack) -> bool:
    """Tell whether every notification accepted so far was handled or dropped with a reason."""
    account = run.accounting()
    idle = account.waiting == account.taken == account.deferred == 0
    return idle and account.unaccounted == 0


def replays_accepted(run: SoakStack, row: Row) -> None:
    outcome = row.details["fault"]
    assert outcome["captured_bodies"] >= PEOPLE * CHANGES_EACH, outcome
    assert outcome["answers"] == [202], outcome


def test_duplicate_and_out_of_order_replays() -> None:
    verdict(run_scenario("replays", replay_late_and_twice, extra_checks=replays_accepted))
