"""Sign a person in to the portal through its real sign-in code, without a real browser.

The portal's own services (or its sign-in views, with a test client as the browser) start
and finish the flow; the sandbox's sign-in and consent pages are driven over plain HTTP.
The person ends up as a portal user with a stored, encrypted token cache, exactly as after a
sign-in in the browser.
"""

from __future__ import annotations

import ssl

import httpx
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.identity import SIGN_IN_SCOPES
from accounts.models import User
from tests.support.cast import DEMO_PASSWORD
from tests.support.entra_signin import sign_in


def authority_answer(
    upn: str,
    *,
    scopes: list[str] | None = None,
    password: str = DEMO_PASSWORD,
    consent: str = "accept",
) -> tuple[dict[str, str], str]:
    """Start a sign-in and return the authority's answer and the browser binding."""
    started = services.begin_sign_in(scopes=scopes or SIGN_IN_SCOPES, next_url="/")
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        answer = sign_in(
            browser,
            started.authorize_url,
            services.redirect_uri(),
            username=upn,
            password=password,
            consent=consent,
        )
    return answer, started.browser_binding


def sign_in_person(upn: str, *, scopes: list[str] | None = None) -> User:
    """Sign ``upn`` in and return the portal user, with tokens stored."""
    answer, binding = authority_answer(upn, scopes=scopes)
    return services.complete_sign_in(params=answer, browser_binding=binding).user


def sign_in_browser(upn: str) -> tuple[Client, User]:
    """Sign ``upn`` in through the portal's sign-in views and the sandbox's pages.

    Returns the browser (a test client holding the session cookie) and the portal user.
    """
    browser = Client()
    answer = callback_answer(browser, upn)
    finished = browser.post(reverse("accounts:callback"), answer)
    assert finished.status_code == 302, finished.content.decode()
    return browser, User.objects.get(email__iexact=upn)


def callback_answer(browser: Client, upn: str) -> dict[str, str]:
    """Start a sign-in in ``browser`` and return what the authority posts back for ``upn``."""
    started = browser.get(reverse("accounts:signin"), {"login_hint": upn})
    assert started.status_code == 302, started.content.decode()
    trust = ssl.create_default_context(cafile=settings.GRAPH_CA_BUNDLE)
    with httpx.Client(verify=trust, trust_env=False) as pages:
        return sign_in(
            pages,
            started["Location"],
            services.redirect_uri(),
            username=upn,
            password=DEMO_PASSWORD,
        )
