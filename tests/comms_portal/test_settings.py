"""Settings come from the environment, fail loudly on nonsense, and are all documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

PROJECT = Path(__file__).resolve().parents[2]
ENV_READ = re.compile(
    r"""env\.(?:text|flag|number|items|url|path)\(\s*["']([A-Z_][A-Z0-9_]*)["']"""
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


def run_django(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py with a clean environment plus ``env``."""
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "TOKEN_ENCRYPTION_KEYS", "DATABASE_URL"}
    }
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
    ],
)
def test_a_bad_value_stops_the_start_naming_the_variable(variable: str, value: str) -> None:
    result = run_django(["check"], **{variable: value})
    assert result.returncode != 0
    assert variable in result.stderr


def test_production_refuses_the_demo_secret_key() -> None:
    result = run_django(["check"], DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_the_demo_token_key() -> None:
    result = run_django(["check"], DEBUG="false", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "TOKEN_ENCRYPTION_KEYS must be set" in result.stderr


def test_deploy_check_passes_with_production_settings() -> None:
    result = run_django(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="false",
        SECRET_KEY="p" + Fernet.generate_key().decode() * 2,
        TOKEN_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="portal.example.org",
        SECURE_COOKIES="true",
        SECURE_SSL_REDIRECT="true",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_PRELOAD="true",
        TRUST_X_FORWARDED_PROTO="true",
    )
    assert result.returncode == 0, result.stdout + result.stderr
