"""Drive the sandbox's sign-in and consent pages with plain HTTP, as a browser would."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)">')


class SignInFailed(AssertionError):
    """The pages did not lead back to the app; the message shows where it stopped."""


def hidden_fields(html: str) -> dict[str, str]:
    """Return the hidden inputs of the last form on a page."""
    return {unescape(name): unescape(value) for name, value in _HIDDEN.findall(html)}


def form_action(html: str) -> str:
    """Return the action of the last form on a page."""
    actions = _FORM_ACTION.findall(html)
    if not actions:
        raise SignInFailed(f"no form on the page:\n{html[:2000]}")
    return unescape(actions[-1])


def _auth_response(response: httpx.Response, redirect_uri: str) -> dict[str, str] | None:
    """Return the parameters sent back to ``redirect_uri``, if this response sends them."""
    if response.status_code in (302, 303):
        location = response.headers["location"]
        if location.startswith(redirect_uri):
            return dict(parse_qsl(urlsplit(location).query))
        return None
    if 'onload="document.forms[0].submit()"' in response.text:
        if form_action(response.text) != redirect_uri:
            raise SignInFailed(f"form_post goes to {form_action(response.text)}")
        return hidden_fields(response.text)
    return None


def sign_in(
    client: httpx.Client,
    auth_uri: str,
    redirect_uri: str,
    *,
    username: str,
    password: str,
    consent: str = "accept",
) -> dict[str, str]:
    """Sign in through the pages and return the authorization response sent to the app."""
    response = client.get(auth_uri)
    for _ in range(4):
        answer = _auth_response(response, redirect_uri)
        if answer is not None:
            return answer
        html = response.text
        if response.status_code not in (200, 400) or "<form" not in html:
            raise SignInFailed(f"stopped at {response.status_code}:\n{html[:2000]}")
        target = urljoin(str(response.url), form_action(html))
        fields = hidden_fields(html)
        if 'role="alert"' in html:
            raise SignInFailed(f"the page shows an error:\n{html[:2000]}")
        if 'name="loginfmt"' in html:
            fields.update({"loginfmt": username, "passwd": password})
        elif 'name="decision"' in html:
            fields["decision"] = consent
        response = client.post(target, data=fields)
    raise SignInFailed(f"too many pages; last one:\n{response.text[:2000]}")
