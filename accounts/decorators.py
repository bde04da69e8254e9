"""View decorators: signed-in people only, and features that need extra consent."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from accounts.identity import FEATURE_SCOPES
from accounts.models import User

View = Callable[..., HttpResponse]


def requires_consent(feature: str) -> Callable[[View], View]:
    """Ask for ``feature``'s permissions the first time a person uses it, then come back."""
    if feature not in FEATURE_SCOPES:
        raise ValueError(f"unknown feature {feature!r}; known: {sorted(FEATURE_SCOPES)}")
    scopes = FEATURE_SCOPES[feature]

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            back = request.get_full_path()
            if not isinstance(user, User) or not user.is_authenticated:
                return HttpResponseRedirect("/accounts/signin/?" + urlencode({"next": back}))
            if not user.has_scopes(scopes):
                query = urlencode({"feature": feature, "next": back})
                return HttpResponseRedirect(f"/accounts/consent/?{query}")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
