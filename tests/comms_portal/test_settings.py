"""Settings come from the environment, fail loudly on nonsense, and are all documented."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

PROJECT = Path(__file__).resolve().parents[2]
ENV_READ = re.compile(
    r"""env\.(?:text|flag|number|items|url|path|networks)\(\s*["']([A-Z_][A-Z0-9_]*)["']"""
)


def settings_variables() -> set[str]:
    """Return every variable name the settings module reads."""
    return set(ENV_READ.findall((PROJECT / "comms_portal" / "settings.py").read_text()))


def documented_variables() -> set[str]:
    """Return the variable names in the README's environment table."""
    readme = (PROJECT / "README.md").read_text()
    return set(re.findall(r"^\|\s*`([A-Z_][A-Z0-9_]*)`\s*\|", readme, flags=re.MULTILINE))


def test_every_setting_variable_is_documented_in_the_readme() -> None:
    read = settings_variables()
    assert len(read) > 15, "the settings reader pattern no longer matches settings.py"
    assert read - documented_variables() == set()


def run_django(
    args: list[str], *, debug: str | None = "true", **env: str
) -> subprocess.CompletedProcess[str]:
    """Run manage.py with a clean environment plus ``env``; ``debug=None`` leaves DEBUG unset."""
    base = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DEBUG", "SECRET_KEY", "TOKEN_ENCRYPTION_KEYS", "DATABASE_URL", "PUBLIC_BASE_URL"}
        and not key.startswith(("SECURE_", "CSRF_", "ALLOWED_", "TRUST_"))
    }
    if debug is not None:
        base["DEBUG"] = debug
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("SESSION_COOKIE_AGE", "soon"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("DATABASE_URL", "mysql://db/portal"),
        ("TOKEN_ENCRYPTION_KEYS", "not-a-fernet-key"),
        ("LOG_LEVEL", "LOUD"),
        ("WORKER_NICENESS", "20"),
        ("WORKER_NICENESS", "-5"),
        ("CSRF_TRUSTED_ORIGINS", "portal.example.org"),
        ("PUBLIC_BASE_URL", "https://:8443"),
        ("HEALTHZ_CACHE_SECONDS", "-1"),
        ("METRICS_ALLOWED_NETWORKS", "10.0.0.1/8"),
        ("METRICS_ALLOWED_NETWORKS", "monitoring.example.org"),
        ("TIME_ZONE", "Mars/Olympus_Mons"),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_variable(variable: str, value: str) -> None:
    result = run_django(["check"], **{variable: value})
    assert result.returncode != 0
    assert variable in result.stderr


def own_secrets() -> dict[str, str]:
    """Return a fresh SECRET_KEY and TOKEN_ENCRYPTION_KEYS, as an operator would generate."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }


def test_a_start_without_debug_set_refuses_the_public_demo_secret_key() -> None:
    result = run_django(["check"], debug=None)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    assert "DEBUG is off unless set" in result.stderr


def test_a_start_without_debug_set_refuses_the_public_demo_token_key() -> None:
    result = run_django(["check"], debug=None, SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode != 0
    assert "TOKEN_ENCRYPTION_KEYS must be set" in result.stderr


def test_debug_is_off_unless_set() -> None:
    show = "from django.conf import settings; print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)"
    result = run_django(["shell", "--no-imports", "-c", show], debug=None, **own_secrets())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_production_refuses_the_demo_secret_key() -> None:
    result = run_django(["check"], debug="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_the_demo_token_key() -> None:
    result = run_django(["check"], debug="false", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "TOKEN_ENCRYPTION_KEYS must be set" in result.stderr


def readme_production_environment() -> dict[str, str]:
    """Return the variables of the README's production block, its placeholders filled in."""
    readme = (PROJECT / "README.md").read_text()
    section = readme.split("### Production settings", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None, "the README's production section has no sh block"
    environment = dict(line.split("=", 1) for line in block.group(1).splitlines() if line)
    generated = own_secrets()
    for name, value in environment.items():
        if value.startswith("<"):
            environment[name] = generated[name]
    return environment


def test_deploy_check_passes_with_the_production_settings_the_readme_lists() -> None:
    environment = readme_production_environment()
    assert environment["DEBUG"] == "false"
    result = run_django(["check", "--deploy", "--fail-level", "WARNING"], debug=None, **environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
