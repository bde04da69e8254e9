"""Reading typed values and database URLs from the environment."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from comms_portal.env import Env, database_from_url


def test_blank_values_fall_back_to_the_default() -> None:
    env = Env({"NAME": "  ", "FLAG": ""})
    assert env.text("NAME", "fallback") == "fallback"
    assert env.flag("FLAG", True) is True


def test_lists_drop_empty_items() -> None:
    assert Env({"HOSTS": "a.example, ,b.example,"}).items("HOSTS", []) == ["a.example", "b.example"]


def test_numbers_below_the_minimum_are_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="PORT must be at least 1"):
        Env({"PORT": "0"}).number("PORT", 80, minimum=1)


def test_urls_with_another_scheme_are_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="GRAPH must be a URL starting with https://"):
        Env({"GRAPH": "ftp://graph"}).url("GRAPH", "https://x", schemes=("https",))


def test_networks_are_read_as_cidrs_and_none_means_none() -> None:
    env = Env({"NETS": "10.0.0.0/8, 2001:db8::/32,192.0.2.7", "OFF": "None"})
    assert [str(n) for n in env.networks("NETS", [])] == [
        "10.0.0.0/8",
        "2001:db8::/32",
        "192.0.2.7/32",
    ]
    assert env.networks("OFF", ["127.0.0.1/32"]) == []
    assert [str(n) for n in env.networks("UNSET", ["::1/128"])] == ["::1/128"]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("10.0.0.1/8", "has host bits set"),
        ("localhost", "does not appear to be an IPv4 or IPv6 network"),
        ("10.0.0.0/33", "does not appear"),
        ("none,10.0.0.0/8", "'none' does not appear"),
    ],
)
def test_networks_that_are_no_networks_are_refused_with_the_reason(value: str, why: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=f"NETS must be comma-separated networks.*{why}"):
        Env({"NETS": value}).networks("NETS", [])


def test_postgres_url_becomes_django_settings() -> None:
    settings = database_from_url("postgres://app:s%40cret@db.internal:6543/portal")
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert (settings["USER"], settings["PASSWORD"]) == ("app", "s@cret")
    assert (settings["HOST"], settings["PORT"], settings["NAME"]) == (
        "db.internal",
        "6543",
        "portal",
    )


def test_sqlite_url_keeps_absolute_paths() -> None:
    assert database_from_url("sqlite:////srv/portal/db.sqlite3")["NAME"] == "/srv/portal/db.sqlite3"


@pytest.mark.parametrize("url", ["mysql://db/x", "postgres://db/", "sqlite://"])
def test_unusable_database_urls_are_refused(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        database_from_url(url)
