"""The admin role follows the tenant: re-read from each refreshed id_token, not only at sign-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accounts import services
from accounts.models import User
from accounts.token_store import acquire_user_token
from tests.support.cast import DANIEL
from tests.support.portal_signin import sign_in_browser
from tests.support.session_sandbox import control

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN_PAGE = "/admin-portal/"
ADMIN = "Portal.Admin"


@pytest.fixture
def daniels_roles() -> Iterator[str]:
    """The control path of Daniel's app roles, given back to him at the end."""
    user_id = next(
        user["id"]
        for user in control("GET", "/info").json()["users"]
        if user["userPrincipalName"] == DANIEL
    )
    path = f"/users/{user_id}/app-roles"
    yield path
    control("POST", path, {"roles": [ADMIN]})


def test_a_revoked_admin_role_closes_the_admin_page_at_the_next_token_refresh(
    daniels_roles: str,
) -> None:
    browser, daniel = sign_in_browser(DANIEL)
    assert daniel.is_portal_admin
    assert browser.get(ADMIN_PAGE).status_code == 200

    control("POST", daniels_roles, {"roles": []})
    # Nothing has asked the authority yet: the portal still knows the role it read at sign-in.
    assert browser.get(ADMIN_PAGE).status_code == 200

    acquire_user_token(daniel.pk, force_refresh=True)

    refused = browser.get(ADMIN_PAGE)
    assert refused.status_code == 403
    assert "You don't have access to this page" in refused.content.decode()
    assert not User.objects.get(pk=daniel.pk).is_portal_admin


def test_the_daily_profile_refresh_re_reads_the_role_both_ways(daniels_roles: str) -> None:
    browser, daniel = sign_in_browser(DANIEL)
    control("POST", daniels_roles, {"roles": []})

    assert services.refresh_profile(user_id=daniel.pk) is True
    assert browser.get(ADMIN_PAGE).status_code == 403

    control("POST", daniels_roles, {"roles": [ADMIN]})
    assert services.refresh_profile(user_id=daniel.pk) is True
    assert browser.get(ADMIN_PAGE).status_code == 200


def test_a_token_from_the_cache_leaves_the_role_as_it_was(daniels_roles: str) -> None:
    browser, daniel = sign_in_browser(DANIEL)
    control("POST", daniels_roles, {"roles": []})

    # A cached access token comes with no id_token: the role is not re-read, nor lost.
    acquire_user_token(daniel.pk)

    assert User.objects.get(pk=daniel.pk).is_portal_admin
    assert browser.get(ADMIN_PAGE).status_code == 200
