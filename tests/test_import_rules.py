"""Who may import whom: the rules of the architecture, checked on every module of the repository.

Each module is parsed (never imported), so a broken rule is reported with its file and line
even when the module would fail to import.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Not part of the product: installed packages, local state, and the tests themselves.
SKIPPED_DIRS = {".venv", "var", "tests", "__pycache__", "node_modules"}

PORTAL = {
    "comms_portal",
    "accounts",
    "directory",
    "presence",
    "meetings",
    "events",
    "calls",
    "callrecords",
}
FEATURE_APPS = {"presence", "meetings", "events", "calls", "callrecords"}
# What a feature app may use of another feature app.
SHARED_FACES = {"services", "selectors"}
FIRST_PARTY = PORTAL | {"sandbox"}
# Frameworks that need Django's settings or app registry; the Graph client runs without them.
DJANGO_BOUND = {"django", "channels", "channels_redis", "celery"}
GRAPH_CLIENT = "comms_portal.graph"
# They wire the apps together, so they may name any app.
ENTRY_POINTS = {
    "comms_portal.urls",
    "comms_portal.asgi",
    "comms_portal.routing",
    "comms_portal.celery",
    "comms_portal.settings",
    "comms_portal.stack",
}
# Calls that import the module named by their first argument.
IMPORTING_CALLS = {"import_module", "__import__", "import_string"}


def top(name: str) -> str:
    return name.split(".", 1)[0]


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@dataclass(frozen=True)
class Rule:
    """One import rule: which modules it binds and which imports it forbids them."""

    key: str
    text: str
    binds: Callable[[str], bool]
    forbids: Callable[[str, str], bool]  # (importing module, imported name)


def _crosses_feature_apps(module: str, target: str) -> bool:
    parts = target.split(".")
    if parts[0] not in FEATURE_APPS or parts[0] == top(module):
        return False
    return len(parts) < 2 or parts[1] not in SHARED_FACES


def _leaves_graph_client(module: str, target: str) -> bool:
    if top(target) in DJANGO_BOUND:
        return True
    return top(target) in FIRST_PARTY and not within(target, GRAPH_CLIENT)


RULES = [
    Rule(
        "a",
        "no portal module imports sandbox",
        lambda module: top(module) in PORTAL,
        lambda module, target: top(target) == "sandbox",
    ),
    Rule(
        "b",
        "sandbox imports nothing of the portal",
        lambda module: top(module) == "sandbox",
        lambda module, target: top(target) in PORTAL,
    ),
    Rule(
        "c",
        "comms_portal/graph imports no Django and no app",
        lambda module: within(module, GRAPH_CLIENT),
        _leaves_graph_client,
    ),
    Rule(
        "d",
        "feature apps import one another only through <app>.services or <app>.selectors",
        lambda module: top(module) in FEATURE_APPS,
        _crosses_feature_apps,
    ),
    Rule(
        "e",
        "accounts and directory import no feature app",
        lambda module: top(module) in {"accounts", "directory"},
        lambda module, target: top(target) in FEATURE_APPS,
    ),
    Rule(
        "f",
        "the platform (comms_portal: graph, notifications, live and the rest) imports no "
        "feature app and not directory; entry points are exempt",
        lambda module: top(module) == "comms_portal" and module not in ENTRY_POINTS,
        lambda module, target: top(target) in FEATURE_APPS | {"directory"},
    ),
]
RULES_BY_KEY = {rule.key: rule for rule in RULES}


@dataclass(frozen=True)
class Violation:
    """An import that breaks a rule, where it is."""

    path: str
    line: int
    module: str
    target: str
    rule: Rule

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.module} imports {self.target}, breaking rule "
            f"({self.rule.key}) {self.rule.text}"
        )


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports_of(module: str, source: str, *, is_package: bool = False) -> Iterator[tuple[str, int]]:
    """Yield each module or name imported by ``source`` (as ``a.b.name``), with its line."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node)
            for alias in node.names:
                yield (base if alias.name == "*" else f"{base}.{alias.name}"), node.lineno
        elif isinstance(node, ast.Call):
            called = node.func
            name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            first = node.args[0] if node.args else None
            if (
                name in IMPORTING_CALLS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                yield first.value, node.lineno


def check_source(
    module: str, source: str, *, path: str, is_package: bool = False
) -> list[Violation]:
    """Return every rule ``source``, the text of ``module``, breaks."""
    bound = [rule for rule in RULES if rule.binds(module)]
    return [
        Violation(path, line, module, target, rule)
        for target, line in imports_of(module, source, is_package=is_package)
        for rule in bound
        if rule.forbids(module, target)
    ]


def repository_modules() -> Iterator[tuple[str, Path, bool]]:
    """Yield (module name, file, is a package) for every Python file of the repository."""
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        folders = relative.parts[:-1]
        if any(part in SKIPPED_DIRS or part.startswith(".") for part in folders):
            continue
        is_package = path.name == "__init__.py"
        parts = folders if is_package else (*folders, path.stem)
        yield ".".join(parts), path, is_package


def repository_violations() -> list[Violation]:
    found: list[Violation] = []
    for module, path, is_package in repository_modules():
        found += check_source(
            module,
            path.read_text(encoding="utf-8"),
            path=str(path.relative_to(ROOT)),
            is_package=is_package,
        )
    return found


@pytest.fixture(scope="module")
def violations() -> list[Violation]:
    return repository_violations()


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.key)
def test_the_repository_keeps_the_rule(rule: Rule, violations: list[Violation]) -> None:
    broken = [str(found) for found in violations if found.rule is rule]
    assert broken == [], "\n".join(broken)


def test_every_package_of_the_product_is_read_and_the_tests_are_not() -> None:
    modules = {module for module, _, _ in repository_modules()}
    for expected in (
        "comms_portal.graph",
        "comms_portal.graph.http",
        "comms_portal.settings",
        "accounts.guards",
        "presence.views",
        "meetings.views",
        "events.views",
        "sandbox",
        "manage",
    ):
        assert expected in modules
    assert not any(top(module) == "tests" for module in modules)
    assert not any(module.startswith(".") for module in modules)


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        # (a) and (b): the portal and the sandbox meet only over HTTP.
        ("presence.views", "import sandbox.presence", ["a"]),
        ("comms_portal.asgi", "from sandbox.graph import app", ["a"]),
        ("sandbox.graph.users", "from accounts.models import User", ["b"]),
        ("sandbox.graph.users", "from sandbox.graph import model", []),
        # (c): the Graph client is a library of its own.
        ("comms_portal.graph.users", "from django.conf import settings", ["c"]),
        ("comms_portal.graph.users", "import celery", ["c"]),
        ("comms_portal.graph.users", "from comms_portal import health", ["c"]),
        ("comms_portal.graph.users", "from .. import redis_client", ["c"]),
        ("comms_portal.graph.users", "from presence.store import get_one", ["c", "f"]),
        ("comms_portal.graph.users", "from . import paging\nimport httpx", []),
        ("comms_portal.graph.users", "from comms_portal.graph.errors import GraphError", []),
        # (d): feature apps meet only through services and selectors.
        ("presence.views", "from meetings.models import Meeting", ["d"]),
        ("presence.views", "from meetings import topics", ["d"]),
        ("presence.views", "from meetings.handlers import meeting_changed", ["d"]),
        ("presence.views", "import meetings", ["d"]),
        ("events.services", "from calls.engine.answer import answer", ["d"]),
        ("presence.views", "from meetings import services, selectors", []),
        ("presence.views", "from meetings.selectors import upcoming", []),
        ("presence.views", "import callrecords.services", []),
        ("presence.views", "from presence.store import get_one\nfrom . import models", []),
        # (e): accounts and directory sit below the features.
        ("accounts.views", "from presence.selectors import wall_page", ["e"]),
        ("directory.sync", "from meetings import services", ["e"]),
        ("accounts.views", "from comms_portal.graph import users", []),
        # (f): the platform serves features without knowing them; entry points wire them.
        ("comms_portal.live.hub", "from directory.models import Person", ["f"]),
        ("comms_portal.notifications.intake", "from presence.handlers import changed", ["f"]),
        ("comms_portal.fanout", "from presence import services", ["f"]),
        ("comms_portal.routing", "from presence.consumers import PresenceConsumer", []),
        ("comms_portal.urls", "from meetings import views", []),
        # Imports the checker must not miss.
        ("accounts.views", "import importlib\nimportlib.import_module('presence.store')", ["e"]),
        (
            "accounts.views",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import presence.models",
            ["e"],
        ),
        ("presence.views", "def later():\n    from events.models import Webinar", ["d"]),
    ],
)
def test_the_checker_catches_what_breaks_a_rule_and_only_that(
    module: str, source: str, broken: list[str]
) -> None:
    found = check_source(module, source, path="synthetic.py")
    assert sorted(violation.rule.key for violation in found) == sorted(broken)


def test_a_violation_names_the_file_the_line_and_the_rule() -> None:
    source = (
        '"""A synthetic view."""\n'
        "\n"
        "from presence import services\n"
        "from presence.models import Person\n"
    )
    (found,) = check_source("meetings.views", source, path="meetings/views.py")
    assert str(found) == (
        "meetings/views.py:4: meetings.views imports presence.models.Person, breaking rule (d) "
        + RULES_BY_KEY["d"].text
    )
