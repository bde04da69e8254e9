"""Directory sync from /users/delta: full then incremental, removals, managers, hidden accounts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from pytest_django.fixtures import Settings as SettingsWrapper

from comms_portal.redis_client import get_redis
from directory import sync
from directory.models import DirectorySync, Person
from directory.rules import parse_hide_rules
from directory.sync import sync_directory
from presence import store
from presence.store import PresenceState
from tests.presence.engine_fixtures import Control, point_settings_at, start_private_sandbox
from tests.support.cast import MEGAN, PRIYA, TOMAS
from tests.support.sandbox import RunningSandbox

pytestmark = pytest.mark.django_db
PEOPLE = 60
SERVICE_ACCOUNTS = 3


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A private sandbox: these tests change and delete people."""
    running = start_private_sandbox(Path(tmp_path_factory.mktemp("directory-sandbox")))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def on_private_sandbox(settings: SettingsWrapper, sandbox: RunningSandbox) -> None:
    point_settings_at(settings, sandbox)


@pytest.fixture
def control(sandbox: RunningSandbox) -> Iterator[Control]:
    client = Control(sandbox.info["control_url"])
    yield client
    client.close()


def person(upn: str) -> Person:
    return Person.objects.get(user_principal_name=upn)


def test_first_sync_reads_everyone_with_managers_and_hides_service_accounts(
    sandbox: RunningSandbox,
) -> None:
    result = sync_directory()

    assert result.full and result.created == PEOPLE + SERVICE_ACCOUNTS
    assert Person.objects.count() == PEOPLE + SERVICE_ACCOUNTS
    assert Person.objects.visible().count() == PEOPLE
    hidden = set(Person.objects.filter(is_hidden=True).values_list("display_name", flat=True))
    assert hidden == {"Room - Harbour View", "Room - Riverside Studio", "svc-teams-recorder"}
    priya = person(PRIYA)
    assert (priya.department, priya.job_title) == ("Engineering", "Head of Engineering")
    assert priya.manager is not None and priya.manager.user_principal_name == MEGAN
    assert person(MEGAN).manager is None
    assert person(MEGAN).reports.count() >= 8
    record = DirectorySync.objects.get()
    assert record.delta_link.startswith(sandbox.info["graph_base_url"]) and record.runs == 1


def test_later_syncs_read_only_what_changed(sandbox: RunningSandbox, control: Control) -> None:
    sync_directory()
    tomas_id = person(TOMAS).graph_id
    priya_id = person(PRIYA).graph_id

    assert sync_directory().created == 0
    again = sync_directory()
    assert not again.full and (again.created, again.updated, again.removed) == (0, 0, 0)

    control("POST", f"/users/{tomas_id}", {"jobTitle": "Chief Revenue Officer"})
    control("POST", f"/users/{priya_id}", {"manager_id": tomas_id})
    result = sync_directory()

    assert not result.full and result.updated == 2 and result.created == 0
    assert person(TOMAS).job_title == "Chief Revenue Officer"
    assert person(PRIYA).manager == person(TOMAS)


def test_a_removed_person_leaves_the_wall_and_the_store(
    sandbox: RunningSandbox, control: Control
) -> None:
    sync_directory()
    leaver = Person.objects.visible().order_by("-pk").first()
    assert leaver is not None
    store.apply_updates([PresenceState(leaver.graph_id, "Busy", "InACall", observed_at=1.0)])

    control("DELETE", f"/users/{leaver.graph_id}")
    result = sync_directory()

    assert result.removed == 1
    leaver.refresh_from_db()
    assert leaver.removed_at is not None
    assert not Person.objects.visible().filter(pk=leaver.pk).exists()
    assert store.get_one(leaver.graph_id) is None


def test_a_refused_delta_link_starts_over_with_a_full_sync(sandbox: RunningSandbox) -> None:
    sync_directory()
    record = DirectorySync.objects.get()
    record.delta_link = record.delta_link.split("$deltatoken=")[0] + "$deltatoken=not-a-token"
    record.save()

    result = sync_directory()

    assert result.full and result.created == 0 and result.removed == 0
    assert DirectorySync.objects.get().full_runs == 2


def test_a_sync_already_running_elsewhere_is_skipped() -> None:
    lock = get_redis().lock(sync.LOCK_KEY, timeout=30)
    assert lock.acquire(blocking=False)
    try:
        assert sync_directory().skipped
    finally:
        lock.release()
    assert not Person.objects.exists()


def test_a_failed_sync_records_its_error_and_keeps_the_link(control: Control) -> None:
    sync_directory()
    link = DirectorySync.objects.get().delta_link
    control("POST", "/faults", {"path": "/v1.0/users/delta", "kind": "500", "count": 10})
    try:
        with pytest.raises(Exception, match="500"):
            sync_directory()
    finally:
        control("DELETE", "/faults")
    record = DirectorySync.objects.get()
    assert "500" in record.last_error and record.delta_link == link


def test_the_management_command_reports_what_it_did(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("sync_directory")
    # Earlier tests of this module may have deleted someone from the sandbox.
    assert f"Directory sync (full): {Person.objects.count()} new" in capsys.readouterr().out
    call_command("sync_directory", "--full")
    assert "Directory sync (full): 0 new" in capsys.readouterr().out


@pytest.mark.parametrize("rule", ["upn", "colour:blue", "department:", ":room*"])
def test_a_malformed_hide_rule_is_refused_clearly(rule: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DIRECTORY_HIDE_RULES"):
        parse_hide_rules([rule])


def test_hide_rules_can_hide_a_department(settings: SettingsWrapper) -> None:
    settings.DIRECTORY_HIDE_RULES = ["department:legal"]
    sync_directory()
    legal = Person.objects.filter(department="Legal")
    assert legal.exists() and all(p.is_hidden for p in legal)
    assert not Person.objects.filter(display_name="svc-teams-recorder", is_hidden=True).exists()
