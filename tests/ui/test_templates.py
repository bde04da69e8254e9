"""The shared page shell and the home and error pages, rendered by the project's template engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages.storage.base import Message
from django.template.loader import render_to_string

from accounts.context_processors import PortalUser
from tests.ui.markup import find_all, is_inside, links_named
from tests.ui.pages import ADELE, LEE, MEGAN, NAV_TARGETS, render_page


def current_links(html: str) -> list[str]:
    return [link.text for link in find_all(html, "a", aria_current="page")]


def test_signed_out_header_offers_microsoft_sign_in_that_returns_to_the_page() -> None:
    html = render_page("home.html", path="/people/?q=ada&dept=R&D", portal_user=None)

    sign_in = links_named(html, "Sign in with Microsoft")
    assert sign_in, "expected a sign-in link"
    # The whole path with its query survives as one encoded `next` value.
    expected = "/accounts/signin/?next=/people/%3Fq%3Dada%26dept%3DR%26D"
    assert {link.attrs["href"] for link in sign_in} == {expected}
    assert find_all(html, "form", action="/accounts/signout/") == []
    assert links_named(html, "Admin") == []


def test_signed_in_header_shows_the_person_and_a_post_sign_out_with_csrf() -> None:
    html = render_page("home.html", portal_user=ADELE)

    avatar = find_all(html, "span", class_="avatar")
    assert [element.text for element in avatar] == ["AV"]
    assert "Signed in as Adele Vance" in [
        element.text for element in find_all(html, "span", class_="account-name")
    ]
    (form,) = find_all(html, "form", action="/accounts/signout/")
    assert form.attrs["method"] == "post"
    assert find_all(html, "input", type="hidden", name="csrfmiddlewaretoken")
    assert links_named(html, "Sign in with Microsoft") == []


def main_nav_links(html: str) -> dict[str, str]:
    return {
        link.text: str(link.attrs["href"])
        for link in find_all(html, "a")
        if is_inside(link, "nav", aria_label="Main")
    }


def test_main_navigation_links_every_area_and_admin_only_for_admins() -> None:
    everyone = {**NAV_TARGETS, "My calls": "/call-quality/mine/"}
    for person in (ADELE, None):
        assert main_nav_links(render_page("home.html", portal_user=person)) == everyone
    assert main_nav_links(render_page("home.html", portal_user=MEGAN)) == {
        **everyone,
        "Calls": "/calls/",
        "Call quality": "/call-quality/",
        "Admin": "/admin-portal/",
    }


@pytest.mark.parametrize(
    ("active_nav", "expected"),
    [
        ("people", ["People"]),
        ("meetings", ["Meetings"]),
        ("events", ["Events"]),
        ("mycalls", ["My calls"]),
        ("", []),
    ],
)
def test_active_nav_marks_exactly_one_link_as_the_current_page(
    active_nav: str, expected: list[str]
) -> None:
    html = render_page("home.html", portal_user=ADELE, active_nav=active_nav)
    assert current_links(html) == expected


def test_admin_link_is_marked_current_for_admins_on_admin_pages() -> None:
    html = render_page("home.html", portal_user=MEGAN, active_nav="admin")
    assert current_links(html) == ["Admin"]


def test_calls_link_is_marked_current_for_admins_on_calls_pages() -> None:
    html = render_page("home.html", portal_user=MEGAN, active_nav="calls")
    assert current_links(html) == ["Calls"]


def test_unknown_active_nav_marks_nothing() -> None:
    html = render_page("home.html", portal_user=MEGAN, active_nav="peoples")
    assert current_links(html) == []


def test_reauth_banner_shows_only_when_the_token_needs_renewing() -> None:
    html = render_page("home.html", path="/meetings/", portal_user=LEE)
    (banner,) = find_all(html, "div", class_="banner", role="alert")
    assert "You need to sign in again" in banner.text
    (again,) = links_named(html, "Sign in again")
    assert again.attrs["href"] == "/accounts/signin/?next=/meetings/"

    assert find_all(render_page("home.html", portal_user=ADELE), "div", class_="banner") == []
    assert find_all(render_page("home.html", portal_user=None), "div", class_="banner") == []


def test_flash_messages_use_alert_for_problems_and_status_for_news() -> None:
    messages = [
        Message(message_levels.SUCCESS, "Your status is now Busy for 1 hour."),
        Message(message_levels.INFO, "Directory sync started."),
        Message(message_levels.WARNING, "Graph is slow; showing the last known presence."),
        Message(message_levels.ERROR, "The meeting needs a subject."),
    ]
    html = render_page("home.html", portal_user=ADELE, messages=messages)

    flashes = [element for element in find_all(html, "div") if "data-flash" in element.attrs]
    assert [(flash.attrs["role"], sorted(flash.classes)) for flash in flashes] == [
        ("status", ["flash", "flash-success"]),
        ("status", ["flash", "flash-info"]),
        ("alert", ["flash", "flash-warning"]),
        ("alert", ["flash", "flash-error"]),
    ]
    assert flashes[2].text.startswith("Warning: Graph is slow")
    assert flashes[3].text.startswith("Error: The meeting needs a subject.")
    dismissers = find_all(html, "button", aria_label="Dismiss message")
    assert len(dismissers) == 4


def test_no_flash_list_without_messages() -> None:
    html = render_page("home.html", portal_user=ADELE, messages=[])
    assert find_all(html, "div", class_="flash-list") == []


def test_names_and_messages_are_escaped_not_injected() -> None:
    mallory = PortalUser(
        display_name='<img src=x onerror="alert(1)">',
        initials="<b>",
        is_portal_admin=False,
        needs_reauth=False,
    )
    messages = [Message(message_levels.INFO, "<script>alert(2)</script>")]
    html = render_page("home.html", portal_user=mallory, messages=messages)

    assert find_all(html, "img", src="x") == []
    assert find_all(html, "b") == []
    assert "<script>alert(2)</script>" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_page_skeleton_has_landmarks_skip_link_and_local_assets() -> None:
    html = render_page("home.html", portal_user=ADELE)

    assert html.lstrip().lower().startswith("<!doctype html>")
    (root,) = find_all(html, "html")
    assert root.attrs["lang"] == "en"
    assert find_all(html, "meta", name="viewport")
    (skip,) = links_named(html, "Skip to main content")
    assert skip.attrs["href"] == "#main"
    assert len(find_all(html, "main", id="main")) == 1
    assert len(find_all(html, "header")) == 1
    assert len(find_all(html, "footer")) == 1
    assert [link.attrs["href"] for link in links_named(html, "System status")] == ["/status/"]
    (icon,) = find_all(html, "link", rel="icon")
    assert icon.attrs["href"] == "/static/img/favicon.svg"
    stylesheets = [link.attrs["href"] for link in find_all(html, "link", rel="stylesheet")]
    assert stylesheets == [
        "/static/css/portal.css",
        "/static/css/components.css",
        "/static/css/pages.css",
        "/static/css/presence.css",
        "/static/css/people-picker.css",
    ]
    scripts = [tag for tag in find_all(html, "script") if tag.attrs.get("src")]
    assert [script.attrs["src"] for script in scripts] == [
        "/static/js/portal.js",
        "/static/js/page-focus.js",
        "/static/js/people-picker.js",
        "/static/js/alerts-inbox.js",
    ]
    assert all("defer" in script.attrs for script in scripts)
    # No inline script or style: the pages' content security policy will forbid them.
    assert not [tag for tag in find_all(html, "script") if not tag.attrs.get("src")]
    assert find_all(html, "style") == []
    assert len(find_all(html, "div", id="toast-region", aria_live="polite")) == 1


def test_title_names_the_page_then_the_product() -> None:
    html = render_page("home.html", portal_user=None)
    (title,) = find_all(html, "title")
    assert title.text == "Home · Comms Portal"


def card_links(html: str) -> dict[str, str]:
    return {
        link.text: str(link.attrs["href"])
        for link in find_all(html, "a")
        if link.parent is not None and "card-title" in link.parent.classes
    }


def test_home_cards_lead_to_each_area_and_admin_only_for_admins() -> None:
    assert card_links(render_page("home.html", portal_user=ADELE)) == NAV_TARGETS
    assert card_links(render_page("home.html", portal_user=MEGAN)) == {
        **NAV_TARGETS,
        "Admin": "/admin-portal/",
    }
    assert "See who is available now" in render_page("home.html", portal_user=ADELE)


def test_signed_out_home_explains_the_portal_and_offers_sign_in() -> None:
    html = render_page("home.html", portal_user=None)
    (headline,) = find_all(html, "h1")
    assert headline.text == "Know who is free. Meet in one click."
    assert len(links_named(html, "Sign in with Microsoft")) == 2
    assert card_links(html) == {}


def test_not_found_page_keeps_the_shell_and_offers_a_way_home() -> None:
    html = render_page("404.html", path="/nowhere/", portal_user=ADELE)
    (headline,) = find_all(html, "h1")
    assert headline.text == "We can't find that page"
    assert links_named(html, "Go to the home page")[0].attrs["href"] == "/"
    assert find_all(html, "nav", aria_label="Main")


def test_forbidden_page_asks_signed_out_people_to_sign_in() -> None:
    signed_out = render_page("403.html", path="/admin-portal/", portal_user=None)
    assert "/accounts/signin/?next=/admin-portal/" in {
        link.attrs["href"] for link in links_named(signed_out, "Sign in with Microsoft")
    }
    signed_in = render_page("403.html", path="/admin-portal/", portal_user=ADELE)
    assert "Adele Vance" in find_all(signed_in, "p", class_="lead")[0].text


def test_server_error_page_renders_with_an_empty_context() -> None:
    # Django's server_error view renders with no request and no context processors.
    html = render_to_string("500.html")
    (headline,) = find_all(html, "h1")
    assert headline.text == "Something went wrong on our side"
    assert find_all(html, "link", rel="icon")[0].attrs["href"] == "/static/img/favicon.svg"
    assert "csrfmiddlewaretoken" not in html
    assert find_all(html, "nav") == []


def test_no_template_carries_text_left_over_from_a_merge() -> None:
    # Django renders such lines as page text: every person would see them.
    root = Path(__file__).resolve().parents[2]
    markers = ("<<<<<<< ", ">>>>>>> ", "\n=======\n")
    templates = [
        path
        for path in root.glob("**/templates/**/*.html")
        if ".venv" not in path.parts and "var" not in path.parts
    ]
    assert templates
    for path in templates:
        text = path.read_text(encoding="utf-8")
        assert not any(marker in text for marker in markers), path
