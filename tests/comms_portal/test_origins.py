"""The portal's origins, from PUBLIC_BASE_URL and CSRF_TRUSTED_ORIGINS, as browsers write them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from comms_portal.origins import portal_origins, websocket_origins


def test_origins_are_scheme_host_and_port_without_the_default_port() -> None:
    assert portal_origins("https://Portal.Example.org:443/base", ["http://[::1]:8000"]) == [
        "https://portal.example.org",
        "http://[::1]:8000",
    ]
    assert websocket_origins(["https://portal.example.org", "http://127.0.0.1:8000"]) == [
        "wss://portal.example.org",
        "ws://127.0.0.1:8000",
    ]


@pytest.mark.parametrize("bad", ["portal.example.org", "ftp://portal.example.org", "https://"])
def test_a_trusted_origin_without_scheme_and_host_is_refused_naming_the_setting(bad: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="CSRF_TRUSTED_ORIGINS"):
        portal_origins("https://portal.example.org", [bad])
