"""Withdrawing the consents the events tests gave as people of the session's sandbox."""

from __future__ import annotations

from tests.support.cast import AIKO, DANIEL, MEGAN, SAMUEL, TOMAS
from tests.support.session_sandbox import control

CONSENTING = (MEGAN, DANIEL, TOMAS, SAMUEL, AIKO)


def forget_consents(people: tuple[str, ...] = CONSENTING) -> None:
    """Withdraw what ``people`` consented to in the session's sandbox."""
    users = control("GET", "/info").json()["users"]
    ids = {u["userPrincipalName"].lower(): u["id"] for u in users}
    for upn in people:
        control("POST", "/consents/withdraw", {"user_id": ids[upn.lower()]})
