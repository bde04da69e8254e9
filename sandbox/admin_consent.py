"""Entra ID's admin-consent endpoint: a tenant-wide grant of an app's permissions."""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox import pages
from sandbox.discovery import known_tenant
from sandbox.identity import error_page_response, redirect_uri_allowed, request_params
from sandbox.state import state_of


# https://learn.microsoft.com/entra/identity-platform/v2-admin-consent
async def admin_consent(request: Request) -> Response:
    """Show the tenant-wide grant page; Accept returns ``admin_consent=True`` to the app."""
    state = state_of(request)
    params = await request_params(request)
    segment = request.path_params["tenant"]
    app = state.tenant.app(params.get("client_id", ""))
    redirect_uri = params.get("redirect_uri", "")
    if known_tenant(state, segment) is None or app is None:
        return error_page_response(
            400, "Consent failed", "AADSTS700016", "Unknown tenant or application."
        )
    if not redirect_uri_allowed(app, redirect_uri):
        return error_page_response(
            400,
            "Consent failed",
            "AADSTS50011",
            f"The redirect URI '{redirect_uri}' is not registered.",
        )
    fields = {"state": params["state"]} if "state" in params else {}
    if request.method == "POST":
        if params.get("decision") == "accept":
            result = {"admin_consent": "True", "tenant": state.tenant.tenant_id, **fields}
        else:
            result = {
                "error": "access_denied",
                "error_description": "AADSTS65004: The administrator declined to consent.",
                **fields,
            }
        return RedirectResponse(f"{redirect_uri}?{urlencode(result)}", status_code=302)
    query = urlencode({"client_id": app.client_id, "redirect_uri": redirect_uri, **fields})
    html = pages.page(
        "Permissions requested for your organization",
        "<h1>Permissions requested</h1>"
        f"<p>{escape(app.name)} asks for these application permissions for the whole "
        "organization:</p><ul>"
        + "".join(f"<li>{escape(p)}</li>" for p in app.application)
        + f'</ul><form method="post" action="/{escape(segment)}/adminconsent?'
        f'{escape(query)}">'
        '<button class="primary" name="decision" value="accept">Accept</button> '
        '<button class="secondary" name="decision" value="cancel">Cancel</button></form>',
    )
    return HTMLResponse(html)


def admin_consent_routes() -> list[Route]:
    """Return the admin-consent route."""
    return [Route("/{tenant}/adminconsent", admin_consent, methods=["GET", "POST"])]
