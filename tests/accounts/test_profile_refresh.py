"""Refreshing a person's profile in the background, as that person."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import User
from tests.support.cast import LENA
from tests.support.portal_signin import sign_in_person
from tests.support.session_sandbox import clock_moved, control

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_renamed_person_is_renamed_here_then_a_revoked_grant_stops_the_refresh() -> None:
    user = sign_in_person(LENA)
    control("POST", f"/users/{user.object_id}", {"displayName": "Lena Brandt-Ruiz"})
    try:
        with clock_moved(2 * 3600):
            assert services.refresh_profile(user_id=user.pk) is True
            user.refresh_from_db()
            assert user.display_name == "Lena Brandt-Ruiz"
            control("POST", "/tokens/revoke", {"user_id": user.object_id})
            control("POST", "/clock", {"advance_seconds": 2 * 3600})
            assert services.refresh_profile(user_id=user.pk) is False
        user.refresh_from_db()
        assert user.needs_reauth
        assert user.pk not in services.people_to_refresh()
    finally:
        control("POST", f"/users/{user.object_id}", {"displayName": "Lena Brandt"})
        User.objects.filter(pk=user.pk).update(needs_reauth=False)
