"""A small, named set of calls made in the session's sandbox for the page tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.cast import GRACE, LENA, PRIYA, SAMUEL, TOMAS


def user_id(info: dict[str, Any], upn: str) -> str:
    return str(next(u["id"] for u in info["users"] if u["userPrincipalName"] == upn))


def make_cast_calls(control: Any, info: dict[str, Any], tag: str) -> dict[str, str]:
    """Make the calls: Samuel twice on weak 2.4 GHz Wi-Fi (Tomas too, the first time), Lena on
    VPN, Priya and Grace fine.

    ``control(method, path, body)`` calls the sandbox's control API and returns its JSON.
    """
    samuel, tomas, priya, grace, lena = (
        user_id(info, upn) for upn in (SAMUEL, TOMAS, PRIYA, GRACE, LENA)
    )
    now = datetime.now(UTC)

    def at(hours: float) -> str:
        return (now - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")

    def make(key: str, **body: Any) -> str:
        return str(control("POST", "/callrecords", {"key": f"{tag}:{key}", **body})["id"])

    return {
        # Both on weak Wi-Fi, sharing a screen: six poor streams, more than any two-person
        # call of the ordinary day can have.
        "weak-wifi": make(
            "weak-wifi",
            participants=[samuel, tomas],
            start=at(3),
            minutes=12,
            modalities=["audio", "video", "videoBasedScreenSharing"],
            conditions={samuel: "wifi-24-weak", tomas: "wifi-24-weak"},
        ),
        "weak-wifi-again": make(
            "weak-wifi-again",
            participants=[samuel, priya],
            start=at(5),
            minutes=8,
            conditions={samuel: "wifi-24-weak", priya: "wired"},
        ),
        "vpn": make(
            "vpn",
            participants=[lena, grace, tomas],
            type="groupCall",
            modalities=["audio", "video"],
            start=at(4),
            minutes=30,
            conditions={lena: "vpn", grace: "wired", tomas: "wifi-5"},
        ),
        "fine": make(
            "fine",
            participants=[priya, grace],
            start=at(2),
            minutes=6,
            conditions={priya: "wired", grace: "wired"},
        ),
    }
