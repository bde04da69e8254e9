"""Sign a person in to the portal through its real sign-in code, without a browser.

The portal's own services start and finish the flow; the sandbox's sign-in and consent
pages are driven over plain HTTP. The person ends up as a portal user with a stored,
encrypted token cache, exactly as after a sign-in in the browser.
"""

from __future__ import annotations

import httpx

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
