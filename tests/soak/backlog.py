"""Bodies the soak posts to the intake itself, as fast as Graph may: forged, then flooded.

The bodies name the portal's own subscriptions and their clientStates, so the intake accepts
them (202) and queues them; they carry no encrypted content, so the worker drops each with a
reason. Every one is therefore accounted for without a presence change behind it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from tests.soak.harness import SoakStack
from tests.soak.services import POSTGRES_ADMIN_URL

REPO = Path(__file__).resolve().parents[2]
# Sending processes: one Python process alone cannot hold a thousand requests a second
# on this machine while the portal shares its cores.
FLOOD_PROCESSES = 2


def forged_bodies(run: SoakStack) -> list[bytes]:
    """Return bodies that pass the intake (our subscriptions, their clientStates) but not the
    worker's checks (no encrypted content, no validation tokens): dropped with a reason."""
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{run.database_name}"
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT graph_id, client_state, scope FROM notifications_subscription"
            " WHERE kind = 'presence'"
        ).fetchall()
    bodies = []
    for graph_id, client_state, scope in rows:
        for person in list(scope)[:20]:
            item = {
                "subscriptionId": graph_id,
                "clientState": client_state,
                "changeType": "updated",
                "resource": f"communications/presences('{person}')",
                "resourceData": {"id": person},
            }
            bodies.append(json.dumps({"value": [item]}).encode())
    if not bodies:
        raise RuntimeError("no presence subscription to forge bodies for")
    return bodies


def flood_from_other_processes(
    run: SoakStack, bodies: list[bytes], *, rate: float, duration: float
) -> dict[str, Any]:
    """Run the flood in processes of its own, so this one's threads do not slow the senders."""
    path = run.run_dir / "flood-bodies.json"
    path.write_text(json.dumps([body.decode() for body in bodies]))
    argv = [sys.executable, "-m", "tests.soak.flood", run.base_url, str(rate), str(duration)]
    argv += [str(path), str(FLOOD_PROCESSES)]
    done = subprocess.run(argv, capture_output=True, check=True, timeout=duration + 180, cwd=REPO)
    return dict(json.loads(done.stdout))
