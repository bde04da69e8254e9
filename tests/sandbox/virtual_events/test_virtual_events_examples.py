"""Every documented example of webinars and town halls, replayed: status, names and types.

Each example's ids are swapped for ones of this sandbox (its events, sessions, questions,
people) before the request is sent; the answer must have the documented status and shape.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.sandbox.virtual_events.conftest import Tokens, webinar_body
from tests.support.cast import GRACE, MEGAN, PRIYA, TOMAS
from tests.support.examples import example_names, load_example, shape_differences
from tests.support.sandbox import RunningSandbox

EXAMPLES = example_names("virtualevents-")
# The documented ids, as the examples spell them.
DOC_PERSON = "7b7e1acd-a3e0-4533-8c1d-c1a4ca0b2e2b"
DOC_ORGANIZER = "b7ef013a-c73c-4ec7-8ccb-e56290f45f68"
DOC_QUESTIONS = (
    "95320781-96b3-4b8f-8cf8-e6561d23447a",
    "4577afdb-8bee-4219-b482-04b52c6b855c",
    "80fefcf1-caf7-4cd3-b8d7-159e17c47f20",
)
CITIES = ["Seattle", "London", "New York City", "Cancun", "Hoboken", "Beijing"]


class Replay:
    """Builds what an example needs in this sandbox and sends the example's request."""

    def __init__(
        self, sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens, name: str
    ) -> None:
        self.sandbox, self.graph, self.tokens = sandbox, graph, tokens
        self.example = load_example(name)
        self.name = name
        self.swaps: dict[str, str] = {
            DOC_PERSON: sandbox.user(PRIYA)["id"],
            DOC_ORGANIZER: sandbox.user(MEGAN)["id"],
        }
        self.headers = tokens.user(MEGAN)

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        answer = self.graph.post(path, json=body, headers=headers or self.tokens.user(MEGAN))
        assert answer.status_code in (200, 201, 204), answer.text
        return answer.json() if answer.content else None

    def event(self, kind: str, *, published: bool) -> dict[str, Any]:
        made = self.post(f"solutions/virtualEvents/{kind}", webinar_body())
        if published:
            self.post(f"solutions/virtualEvents/{kind}/{made['id']}/publish")
        return dict(made)

    def prepare(self) -> None:
        url: str = self.example["url"]
        path = url.split("graph.microsoft.com/", 1)[1]
        version, _, rest = path.partition("/")
        parts = rest.split("/")
        if len(parts) > 3 and "@" in parts[3]:
            kind = parts[2]
            published = not rest.endswith(("/publish", "/cancel")) or "registrations" in rest
            event = self.event(kind, published=published and kind == "webinars")
            self.swaps[parts[3]] = event["id"]
            if "registrations" in rest:
                self.questions(event["id"])
            if "registrations/" in rest and rest.endswith("/cancel"):
                mine = self.register(event["id"], self.tokens.user(TOMAS))
                self.swaps[parts[5]] = mine["id"]
                self.headers = self.tokens.user(TOMAS)
            if "sessions/" in rest:
                sessions = self.graph.get(
                    f"solutions/virtualEvents/{kind}/{event['id']}/sessions", headers=self.headers
                ).json()["value"]
                self.swaps[parts[5]] = sessions[0]["id"]
                if "attendanceReports/" in rest:
                    self.sandbox.control(
                        "POST", f"/virtual-events/{event['id']}/sessions/{sessions[0]['id']}/end"
                    )
                    report = self.graph.get(
                        f"solutions/virtualEvents/{kind}/{event['id']}/sessions/"
                        f"{sessions[0]['id']}/attendanceReports",
                        headers=self.headers,
                    ).json()["value"][0]
                    self.swaps[parts[7]] = report["id"]
        if "getByUserRole" in rest:
            self.event("webinars", published=True)
        if "getByUserIdAndRole" in rest:
            self.event("webinars", published=True)
            self.headers = self.tokens.app()
        if rest.endswith("/registrations") and self.example["method"] == "GET":
            self.register(self.swaps[parts[3]], self.tokens.user(TOMAS))
        if "presenter-create-internal" in self.name:
            self.swaps[DOC_PERSON] = self.sandbox.user(GRACE)["id"]
        self.version, self.rest = version, rest

    def questions(self, event_id: str) -> None:
        beta = self.sandbox.info["beta_base_url"]
        event = f"{beta}/solutions/virtualEvents/webinars/{event_id}"
        path = f"{event}/registrationConfiguration/questions"
        for doc_id, (kind, choices) in zip(
            DOC_QUESTIONS,
            (("multiChoice", CITIES), ("boolean", []), ("multiChoice", CITIES)),
            strict=True,
        ):
            made = self.post(
                path,
                {
                    "@odata.type": "#microsoft.graph.virtualEventRegistrationCustomQuestion",
                    "displayName": f"Question {doc_id[:4]}",
                    "answerInputType": kind,
                    "answerChoices": choices,
                },
            )
            self.swaps[doc_id] = made["id"]

    def register(self, event_id: str, headers: dict[str, str]) -> dict[str, Any]:
        body = {"preferredTimezone": "UTC", "preferredLanguage": "en-us"}
        return dict(
            self.post(f"solutions/virtualEvents/webinars/{event_id}/registrations", body, headers)
        )

    def swap(self, text: str) -> str:
        for documented, ours in self.swaps.items():
            text = text.replace(documented, ours)
        return text

    def send(self) -> httpx.Response:
        base = (
            self.sandbox.graph_base_url
            if self.version == "v1.0"
            else self.sandbox.info["beta_base_url"]
        )
        body = self.example.get("request")
        return self.graph.request(
            self.example["method"],
            f"{base}/{self.swap(self.rest)}",
            content=None if body is None else self.swap(json.dumps(body)),
            headers={**self.headers, "Content-Type": "application/json"},
        )


@pytest.mark.parametrize("name", EXAMPLES)
def test_documented_example(
    name: str, events_sandbox: RunningSandbox, graph: httpx.Client, tokens: Tokens
) -> None:
    replay = Replay(events_sandbox, graph, tokens, name)
    replay.prepare()
    if name == "virtualevents-webinar-registration-create-app.request.json":
        # The portal's app registration does not ask for anonymous registration
        # (VirtualEventRegistration-Anon.ReadWrite.All), so Graph would refuse it too.
        replay.headers = tokens.app()
        assert replay.send().status_code == 403
        return
    answer = replay.send()
    assert answer.status_code == replay.example["status"], answer.text
    documented = replay.example.get("response")
    if documented is None:
        assert not answer.content
        return
    ours = answer.json()
    if name in (
        "virtualevents-webinar-getbyuserrole.response.json",
        "virtualevents-webinar-getbyuseridandrole.response.json",
    ):
        # The page prints the description as a string; the type is an itemBody.
        documented = json.loads(json.dumps(documented))
        documented["value"][0]["description"] = {"contentType": "text", "content": "text"}
    if name == "virtualevents-webinar-session-get.response.json":
        # The page wraps the session in "value"; the service answers the session itself.
        documented = documented["value"]
    assert shape_differences(ours, documented) == []
