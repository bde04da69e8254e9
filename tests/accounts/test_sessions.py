"""Sessions of signed-in people: each browser's own, ended one at a time or all at once."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import SignedInSession
from tests.support.cast import PRIYA
from tests.support.portal_signin import sign_in_browser

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in(browser: Client) -> bool:
    answer = browser.get("/people/")
    assert answer.status_code in (200, 302)
    return answer.status_code == 200


def test_signing_in_on_a_second_browser_keeps_the_first_signed_in() -> None:
    laptop, priya = sign_in_browser(PRIYA)
    phone, again = sign_in_browser(PRIYA)
    assert again.pk == priya.pk
    assert signed_in(laptop) and signed_in(phone)
    assert SignedInSession.objects.filter(user=priya).count() == 2


def test_signing_out_ends_that_browsers_session_only() -> None:
    laptop, priya = sign_in_browser(PRIYA)
    phone, _ = sign_in_browser(PRIYA)
    phone_key = phone.session.session_key

    assert laptop.post("/accounts/signout/").status_code == 302

    assert not signed_in(laptop)
    assert signed_in(phone)
    remaining = SignedInSession.objects.filter(user=priya).values_list("session_key", flat=True)
    assert list(remaining) == [phone_key]
