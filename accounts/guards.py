"""Access guards for views: signed in, portal admin, a feature's consent; sync or async views.

Pages send signed-out people to the sign-in page and back; the ``*_api`` guards answer
scripts with JSON 401/403 instead, since a redirect to an HTML page is no use to them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from asgiref.sync import iscoroutinefunction
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse

from accounts.identity import FEATURE_SCOPES
from accounts.models import User

ViewT = TypeVar("ViewT", bound=Callable[..., Any])
# Returns the answer that replaces the view's, or None to let the request through.
Check = Callable[[HttpRequest, AbstractBaseUser | AnonymousUser], HttpResponse | None]

SIGN_IN_FIRST = "You are signed out; sign in first."
ADMINS_ONLY = "Only portal admins may do this."


def _guard(check: Check) -> Callable[[ViewT], ViewT]:
    """Wrap a sync or async view so that ``check`` runs before it."""

    def decorator(view: ViewT) -> ViewT:
        if iscoroutinefunction(view):

            @wraps(view)
            async def guarded_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                refusal = check(request, await request.auser())
                if refusal is not None:
                    return refusal
                return await view(request, *args, **kwargs)

            return cast(ViewT, guarded_async)

        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refusal = check(request, request.user)
            if refusal is not None:
                return refusal
            return view(request, *args, **kwargs)

        return cast(ViewT, guarded)

    return decorator


def is_portal_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Return whether ``user`` is a signed-in portal admin."""
    return isinstance(user, User) and user.is_authenticated and user.is_portal_admin


def sign_in_redirect(request: HttpRequest) -> HttpResponseRedirect:
    """Send the browser to the sign-in page, to come back to this page afterwards."""
    return redirect_to_login(request.get_full_path(), reverse("accounts:signin"))


def _page_needs_sign_in(
    request: HttpRequest, user: AbstractBaseUser | AnonymousUser
) -> HttpResponse | None:
    return None if user.is_authenticated else sign_in_redirect(request)


def _api_needs_sign_in(
    request: HttpRequest, user: AbstractBaseUser | AnonymousUser
) -> HttpResponse | None:
    return None if user.is_authenticated else JsonResponse({"error": SIGN_IN_FIRST}, status=401)


def _page_needs_admin(
    request: HttpRequest, user: AbstractBaseUser | AnonymousUser
) -> HttpResponse | None:
    if not user.is_authenticated:
        return sign_in_redirect(request)
    if not is_portal_admin(user):
        # Django answers with the 403 page, which tells the person why and whom to ask.
        raise PermissionDenied(ADMINS_ONLY)
    return None


def _api_needs_admin(
    request: HttpRequest, user: AbstractBaseUser | AnonymousUser
) -> HttpResponse | None:
    if not user.is_authenticated:
        return JsonResponse({"error": SIGN_IN_FIRST}, status=401)
    if not is_portal_admin(user):
        return JsonResponse({"error": ADMINS_ONLY}, status=403)
    return None


def signed_in(view: ViewT) -> ViewT:
    """Let signed-in people through; send others to sign in and come back."""
    return _guard(_page_needs_sign_in)(view)


def signed_in_api(view: ViewT) -> ViewT:
    """Let signed-in people through; answer others with JSON 401, never a redirect."""
    return _guard(_api_needs_sign_in)(view)


def admin_required(view: ViewT) -> ViewT:
    """Let portal admins through; send signed-out people to sign in, refuse others (403)."""
    return _guard(_page_needs_admin)(view)


def admin_api(view: ViewT) -> ViewT:
    """Let portal admins through; answer others with JSON 401 (signed out) or 403."""
    return _guard(_api_needs_admin)(view)


def requires_consent(feature: str) -> Callable[[ViewT], ViewT]:
    """Ask for ``feature``'s permissions the first time a person uses it, then come back."""
    if feature not in FEATURE_SCOPES:
        raise ValueError(f"unknown feature {feature!r}; known: {sorted(FEATURE_SCOPES)}")
    scopes = FEATURE_SCOPES[feature]

    def check(request: HttpRequest, user: AbstractBaseUser | AnonymousUser) -> HttpResponse | None:
        if not isinstance(user, User) or not user.is_authenticated:
            return sign_in_redirect(request)
        if user.has_scopes(scopes):
            return None
        query = urlencode({"feature": feature, "next": request.get_full_path()})
        return HttpResponseRedirect(f"{reverse('accounts:consent')}?{query}")

    return _guard(check)
