"""The admin page: Graph permissions and consent, people's tokens, errors, connection health."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts import selectors
from accounts.graph_health import check_graph_as_app
from accounts.guards import admin_required
from comms_portal.health import check_all, report

CONSENT_STATE_KEY = "admin_consent_state"
NEEDS_SIGN_IN_FILTER = "needs-sign-in"
SHOWN_ERRORS = 20


@never_cache
@require_GET
@admin_required
def admin_portal(request: HttpRequest) -> HttpResponse:
    """Show permissions and their grants, people's tokens, the last Graph errors and health."""
    token_filter = request.GET.get("tokens", "")
    if token_filter not in ("", NEEDS_SIGN_IN_FILTER):
        messages.warning(request, f"There is no token filter called {token_filter!r}.")
        token_filter = ""
    app = selectors.app_grants()
    context = {
        "active_nav": "admin",
        "catalogue": selectors.permission_catalogue(app, selectors.delegated_grants()),
        "app_problem": app.problem,
        "people": selectors.people_tokens(needs_sign_in_only=token_filter == NEEDS_SIGN_IN_FILTER),
        "token_filter": token_filter,
        "needs_sign_in_filter": NEEDS_SIGN_IN_FILTER,
        "graph_errors": selectors.last_graph_errors(SHOWN_ERRORS),
        # Graph as the portal's app, so a refused secret shows here in words.
        "health": report(check_all(graph=check_graph_as_app)),
        "consent_redirect_uri": selectors.admin_consent_done_url(),
    }
    return render(request, "accounts/admin_portal.html", context)


@never_cache
@require_GET
@admin_required
def grant_consent(request: HttpRequest) -> HttpResponse:
    """Send the administrator to the authority's admin-consent page."""
    # The state ties the answer to this session, so a forged answer is not reported as ours.
    state = secrets.token_urlsafe(24)
    request.session[CONSENT_STATE_KEY] = state
    return HttpResponseRedirect(selectors.admin_consent_url(state))


@never_cache
@require_GET
@admin_required
def consent_done(request: HttpRequest) -> HttpResponse:
    """Report the outcome of the admin-consent page and return to the admin page."""
    expected_state = request.session.pop(CONSENT_STATE_KEY, None)
    answer = request.GET
    if not expected_state or not secrets.compare_digest(
        str(expected_state), answer.get("state", "")
    ):
        messages.error(
            request,
            "That consent answer does not belong to a request started here; nothing changed. "
            "Use Grant admin consent to try again.",
        )
    elif "error" in answer:
        description = answer.get("error_description") or "no description was given"
        messages.error(request, f"Admin consent was not granted: {answer['error']}: {description}")
    elif answer.get("admin_consent", "").lower() == "true":
        messages.success(
            request,
            "Admin consent granted: the portal now holds its application permissions "
            "for the whole organisation.",
        )
    else:
        messages.error(request, "The consent answer said neither granted nor refused.")
    return HttpResponseRedirect(reverse("admin_portal"))
