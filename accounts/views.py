"""Sign-in, its callback, incremental consent and sign-out."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.identity import FEATURE_SCOPES, SIGN_IN_SCOPES
from accounts.models import User

logger = logging.getLogger(__name__)

BINDING_COOKIE = "portal_signin"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _binding_cookie_path() -> str:
    # Only the callback reads the binding cookie, so no other page of ours is sent it.
    return reverse("accounts:callback")


def _error_page(
    request: HttpRequest, failure: services.SignInFailed, next_url: str
) -> HttpResponse:
    logger.warning("sign-in failed: %s (%s)", failure.message, failure.detail)
    return render(
        request,
        "accounts/signin_error.html",
        {"message": failure.message, "detail": failure.detail, "next_url": next_url},
        status=failure.status,
    )


def _start(
    request: HttpRequest, *, scopes: list[str], next_url: str, login_hint: str | None
) -> HttpResponse:
    prompt = request.GET.get("prompt")
    try:
        started = services.begin_sign_in(
            scopes=scopes,
            next_url=next_url,
            login_hint=login_hint,
            prompt=prompt if prompt in {"login", "select_account", "consent"} else None,
        )
    except services.SignInFailed as failure:
        return _error_page(request, failure, next_url)
    response = HttpResponseRedirect(started.authorize_url)
    # SameSite=None lets the cookie ride along the authority's cross-site form_post;
    # browsers accept that only on secure cookies, so plain-http demos stay on Lax.
    response.set_cookie(
        BINDING_COOKIE,
        started.browser_binding,
        max_age=services.FLOW_TTL_SECONDS,
        path=_binding_cookie_path(),
        httponly=True,
        secure=settings.SECURE_COOKIES,
        samesite="None" if settings.SECURE_COOKIES else "Lax",
    )
    return response


@never_cache
@require_GET
def sign_in(request: HttpRequest) -> HttpResponse:
    """Send the browser to Microsoft's sign-in page."""
    next_url = _safe_next(request, request.GET.get("next"))
    return _start(
        request,
        scopes=SIGN_IN_SCOPES,
        next_url=next_url,
        login_hint=request.GET.get("login_hint") or None,
    )


@never_cache
@require_GET
def consent(request: HttpRequest) -> HttpResponse:
    """Ask Microsoft for the extra permissions a feature needs, then return to it."""
    feature = request.GET.get("feature", "")
    next_url = _safe_next(request, request.GET.get("next"))
    scopes = FEATURE_SCOPES.get(feature)
    if scopes is None:
        return _error_page(
            request, services.SignInFailed(f"There is no feature called {feature!r}."), next_url
        )
    user = request.user
    hint = user.email if isinstance(user, User) and user.email else None
    return _start(request, scopes=scopes, next_url=next_url, login_hint=hint)


@csrf_exempt  # The authority posts here; the flow's state and the binding cookie guard it.
@never_cache
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest) -> HttpResponse:
    """Finish the sign-in with the authority's answer."""
    source = request.POST if request.method == "POST" else request.GET
    params = {key: source.get(key, "") for key in source}
    try:
        completed = services.complete_sign_in(
            params=params, browser_binding=request.COOKIES.get(BINDING_COOKIE)
        )
    except services.SignInFailed as failure:
        response = _error_page(request, failure, reverse("home"))
        response.delete_cookie(BINDING_COOKIE, path=_binding_cookie_path())
        return response
    # login() cycles the session key, so a session fixed before sign-in is useless after.
    login(request, completed.user, backend="django.contrib.auth.backends.ModelBackend")
    response = HttpResponseRedirect(_safe_next(request, completed.next_url))
    response.delete_cookie(BINDING_COOKIE, path=_binding_cookie_path())
    return response


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """End the local session and the Microsoft one."""
    user = request.user if isinstance(request.user, User) else None
    target = services.sign_out_url(user=user)
    logout(request)
    return HttpResponseRedirect(target)
