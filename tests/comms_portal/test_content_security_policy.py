"""Every page carries a strict Content-Security-Policy, and the templates need nothing looser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts import services
from comms_portal.origins import origin_of

PROJECT = Path(__file__).resolve().parents[2]
# What a strict policy blocks in a template: inline scripts, styles and event handlers.
INLINE_CODE = {
    "an inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "a style element": re.compile(r"<style\b", re.IGNORECASE),
    "a style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "an event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def policy_of(header: str) -> dict[str, list[str]]:
    """Split a Content-Security-Policy header into its directives and their sources."""
    directives = {}
    for directive in header.split(";"):
        name, *sources = directive.split()
        directives[name] = sources
    return directives


@pytest.mark.django_db
def test_a_page_tells_the_browser_to_run_only_the_portals_own_code(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    policy = policy_of(response["Content-Security-Policy"])
    own = origin_of(settings.PUBLIC_BASE_URL, name="PUBLIC_BASE_URL")
    own_socket = own.replace("http", "ws", 1)
    assert policy["default-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", own_socket]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "script-src" not in policy and "style-src" not in policy


@pytest.mark.django_db
def test_the_policy_lets_sign_out_reach_the_authoritys_sign_out_page(client: Client) -> None:
    policy = policy_of(client.get("/")["Content-Security-Policy"])
    sign_out_page = services.sign_out_url(user=None)
    assert policy["form-action"][0] == "'self'"
    assert origin_of(sign_out_page, name="the sign-out page") in policy["form-action"]


def template_files() -> list[Path]:
    """Return every template of the portal (the sandbox is a program of its own)."""
    roots = [PROJECT / "templates", *PROJECT.glob("*/templates")]
    return sorted(
        path
        for root in roots
        if root.parent.name != "sandbox"
        for path in root.rglob("*")
        if path.suffix in {".html", ".svg", ".txt"}
    )


def test_no_template_holds_inline_script_or_style() -> None:
    files = template_files()
    assert len(files) > 10, "the template search no longer finds the templates"
    found = [
        f"{path.relative_to(PROJECT)}: {what}"
        for path in files
        for what, pattern in INLINE_CODE.items()
        if pattern.search(path.read_text())
    ]
    assert found == []
