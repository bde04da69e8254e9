"""Admin consent: the link to the authority, and the answer it sends back."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from django.conf import settings as django_settings
from django.test import Client
from pytest_django.fixtures import Settings

from tests.accounts.test_admin_page import ADMIN_URL, browser_as, flash
from tests.support.cast import MEGAN
from tests.support.entra_signin import form_action, hidden_fields
from tests.support.portal_signin import sign_in_person
from tests.support.sandbox import RunningSandbox, start_sandbox

pytestmark = pytest.mark.django_db(transaction=True)


def test_grant_admin_consent_sends_the_admin_to_the_authority_with_the_right_url() -> None:
    megan = sign_in_person(MEGAN)
    client = browser_as(megan)
    assert 'href="/admin-portal/grant-consent"' in client.get(ADMIN_URL).content.decode()

    response = client.get("/admin-portal/grant-consent")

    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == (
        f"{django_settings.MICROSOFT_AUTHORITY}/adminconsent"
    )
    query = {key: values[0] for key, values in parse_qs(target.query).items()}
    assert query == {
        "client_id": django_settings.MICROSOFT_CLIENT_ID,
        "redirect_uri": f"{django_settings.PUBLIC_BASE_URL}/admin-portal/consent-done",
        "state": client.session["admin_consent_state"],
    }


def started_consent(client: Client) -> str:
    location = client.get("/admin-portal/grant-consent")["Location"]
    return parse_qs(urlsplit(location).query)["state"][0]


def test_consent_done_reports_success_and_returns_to_the_admin_page() -> None:
    client = browser_as(sign_in_person(MEGAN))
    state = started_consent(client)
    response = client.get(
        "/admin-portal/consent-done", {"admin_consent": "True", "tenant": "t", "state": state}
    )
    assert response.status_code == 302 and response["Location"] == ADMIN_URL
    assert flash(response) == [
        "Admin consent granted: the portal now holds its application permissions for the "
        "whole organisation."
    ]


def test_consent_done_reports_the_authority_error() -> None:
    client = browser_as(sign_in_person(MEGAN))
    state = started_consent(client)
    response = client.get(
        "/admin-portal/consent-done",
        {
            "error": "access_denied",
            "error_description": "AADSTS65004: The administrator declined to consent.",
            "state": state,
        },
    )
    assert response["Location"] == ADMIN_URL
    assert flash(response) == [
        "Admin consent was not granted: access_denied: AADSTS65004: The administrator "
        "declined to consent."
    ]


@pytest.mark.parametrize(
    "answer",
    [
        {"admin_consent": "True", "state": "forged"},
        {"admin_consent": "True"},
    ],
    ids=["wrong-state", "no-state"],
)
def test_a_consent_answer_not_started_here_is_refused(answer: dict[str, str]) -> None:
    client = browser_as(sign_in_person(MEGAN))
    started_consent(client)
    response = client.get("/admin-portal/consent-done", answer)
    assert response["Location"] == ADMIN_URL
    assert flash(response)[0].startswith("That consent answer does not belong to a request")
    # The state is single use: even the right one fails after a refused answer.
    assert "admin_consent_state" not in client.session


def test_a_consent_answer_without_outcome_is_reported() -> None:
    client = browser_as(sign_in_person(MEGAN))
    state = started_consent(client)
    response = client.get("/admin-portal/consent-done", {"state": state})
    assert flash(response) == ["The consent answer said neither granted nor refused."]


@pytest.fixture(scope="module")
def consent_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A sandbox whose app registration lists the portal's consent-done redirect URI."""
    done = f"{django_settings.PUBLIC_BASE_URL}/admin-portal/consent-done"
    sandbox = start_sandbox(
        tmp_path_factory.mktemp("consent-sandbox"), extra_args=("--redirect-uri", done)
    )
    yield sandbox
    sandbox.stop()


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        ("accept", "Admin consent granted"),
        ("cancel", "Admin consent was not granted: access_denied: AADSTS65004"),
    ],
)
def test_admin_consent_round_trip_through_the_authority_pages(
    consent_sandbox: RunningSandbox, settings: Settings, decision: str, message: str
) -> None:
    client = browser_as(sign_in_person(MEGAN))
    settings.MICROSOFT_AUTHORITY = consent_sandbox.info["authority"]

    authority_url = client.get("/admin-portal/grant-consent")["Location"]
    trust = ssl.create_default_context(cafile=consent_sandbox.ca_bundle)
    with httpx.Client(verify=trust, trust_env=False, timeout=10) as browser:
        consent_page = browser.get(authority_url)
        assert consent_page.status_code == 200, consent_page.text
        answer = browser.post(
            urljoin(authority_url, form_action(consent_page.text)),
            data={**hidden_fields(consent_page.text), "decision": decision},
        )
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == (
        f"{django_settings.PUBLIC_BASE_URL}/admin-portal/consent-done"
    )

    response = client.get(f"{back.path}?{back.query}", follow=True)

    assert response.redirect_chain == [(ADMIN_URL, 302)]
    assert any(m.startswith(message) for m in flash(response))
    assert message.split(":")[0] in unescape(response.content.decode())
