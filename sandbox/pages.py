"""The sign-in, consent and error pages: small, accessible, self-contained HTML."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f2f2f2;margin:0;color:#1b1b1b}
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem 2.5rem;
box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input[type=text],input[type=email],input[type=password]{width:100%;box-sizing:border-box;
padding:.5rem;font-size:1rem;border:1px solid #666}
button{margin-top:1.25rem;padding:.5rem 1.5rem;font-size:1rem;border:0;cursor:pointer}
.primary{background:#0067b8;color:#fff}.secondary{background:#ccc;color:#1b1b1b}
.error{color:#a4262c;border-left:4px solid #a4262c;padding-left:.5rem}
.brand{color:#555;font-size:.9rem}ul{padding-left:1.25rem}
"""


def page(title: str, body: str) -> str:
    """Wrap ``body`` in the shared layout."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # An empty icon: browsers otherwise ask for /favicon.ico and log the 404.
        f'<link rel="icon" href="data:,"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head>"
        f'<body><main><p class="brand">Sandbox identity</p>{body}</main></body></html>'
    )


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in fields.items()
    )


def sign_in_page(
    *,
    action: str,
    context_id: str,
    app_name: str,
    login_hint: str = "",
    error: str | None = None,
    continue_as: str | None = None,
) -> str:
    """Return the sign-in form (``loginfmt`` and ``passwd``), with an error if there is one."""
    alert = f'<p class="error" role="alert" id="error">{escape(error)}</p>' if error else ""
    described = ' aria-describedby="error"' if error else ""
    picker = ""
    if continue_as:
        picker = (
            f'<form method="post" action="{escape(action)}">'
            f"{_hidden({'ctx': context_id, 'action': 'continue'})}"
            f'<button class="secondary" type="submit">Continue as {escape(continue_as)}</button>'
            "</form><p>or sign in with another account:</p>"
        )
    return page(
        "Sign in to your account",
        f"<h1>Sign in</h1><p>to continue to {escape(app_name)}</p>{alert}{picker}"
        f'<form method="post" action="{escape(action)}">{_hidden({"ctx": context_id})}'
        '<label for="loginfmt">Email or user name</label>'
        f'<input type="email" id="loginfmt" name="loginfmt" value="{escape(login_hint)}" '
        f'autocomplete="username" required{described}>'
        '<label for="passwd">Password</label>'
        '<input type="password" id="passwd" name="passwd" autocomplete="current-password" '
        f"required{described}>"
        '<button class="primary" type="submit" id="idSIButton9">Sign in</button></form>',
    )


def consent_page(
    *, action: str, context_id: str, app_name: str, user_name: str, permissions: list[str]
) -> str:
    """Return the consent prompt with Accept and Cancel."""
    items = "".join(f"<li>{escape(permission)}</li>" for permission in permissions)
    return page(
        "Permissions requested",
        f"<h1>Permissions requested</h1><p>{escape(app_name)} would like to, for "
        f"{escape(user_name)}:</p><ul>{items}</ul>"
        f'<form method="post" action="{escape(action)}">{_hidden({"ctx": context_id})}'
        '<button class="primary" type="submit" name="decision" value="accept" '
        'id="idBtn_Accept">Accept</button> '
        '<button class="secondary" type="submit" name="decision" value="cancel" '
        'id="idBtn_Back">Cancel</button></form>',
    )


def form_post_page(redirect_uri: str, fields: Mapping[str, str]) -> str:
    """Return the page that posts the authorization response to the app (form_post)."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<link rel="icon" href="data:,"><title>Working...</title>'
        '</head><body onload="document.forms[0].submit()">'
        f'<form method="post" action="{escape(redirect_uri)}">{_hidden(fields)}'
        "<noscript><p>Script is disabled. Press Continue.</p>"
        '<button type="submit">Continue</button></noscript></form></body></html>'
    )


def error_page(title: str, code: str, message: str) -> str:
    """Return an error page (used where a redirect to the app would be unsafe)."""
    return page(
        title,
        f'<h1>{escape(title)}</h1><p class="error" role="alert">{escape(code)}: '
        f"{escape(message)}</p>",
    )


def message_page(title: str, message: str) -> str:
    """Return a plain informational page."""
    return page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")
