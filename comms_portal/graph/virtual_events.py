"""Teams webinars and town halls (Graph virtual events): one function per operation.

https://learn.microsoft.com/graph/api/resources/virtualeventsroot
Registration questions exist only on beta; those calls go to the beta root of the same host.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from comms_portal.graph.batch import BatchRequest, send_batch
from comms_portal.graph.errors import GraphError
from comms_portal.graph.http import GraphClient, GraphResponse, quote_segment
from comms_portal.graph.paging import iter_pages

Collection = Literal["webinars", "townhalls"]
ROOT = "solutions/virtualEvents"


def event_path(collection: Collection, event_id: str) -> str:
    """Return the path of one event below the version root."""
    return f"{ROOT}/{collection}/{quote_segment(event_id)}"


def beta_url(client: GraphClient, path: str) -> str:
    """Return the absolute beta URL of ``path`` on the client's Graph host."""
    root = client.settings.version_root
    return root[: root.rfind("/")] + "/beta/" + path


def _object(response: GraphResponse) -> dict[str, Any]:
    document = response.json_object()
    if not isinstance(document.get("id"), str):
        raise response.invalid("the object has no id")
    return document


def date_time_time_zone(moment: datetime) -> dict[str, str]:
    """Write a moment as Graph's dateTimeTimeZone, in UTC."""
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def create_event(
    client: GraphClient, collection: Collection, body: dict[str, Any]
) -> dict[str, Any]:
    """Create a draft webinar or town hall as the signed-in organizer."""
    # https://learn.microsoft.com/graph/api/virtualeventsroot-post-webinars
    return _object(client.send("POST", f"{ROOT}/{collection}", json_body=body))


def get_event(client: GraphClient, collection: Collection, event_id: str) -> dict[str, Any]:
    """Read one event."""
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-get
    return _object(client.send("GET", event_path(collection, event_id)))


def update_event(
    client: GraphClient, collection: Collection, event_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Change the documented properties of an event."""
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-update
    return _object(client.send("PATCH", event_path(collection, event_id), json_body=body))


def publish_event(client: GraphClient, collection: Collection, event_id: str) -> None:
    """Publish a draft (organizer only)."""
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-publish
    client.send("POST", event_path(collection, event_id) + "/publish")


def cancel_event(client: GraphClient, collection: Collection, event_id: str) -> None:
    """Cancel an event for good (organizer only)."""
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-cancel
    client.send("POST", event_path(collection, event_id) + "/cancel")


def add_presenter(
    client: GraphClient, collection: Collection, event_id: str, identity: dict[str, Any]
) -> dict[str, Any]:
    """Add a presenter: a person of the tenant or a guest."""
    # https://learn.microsoft.com/graph/api/virtualevent-post-presenters
    path = event_path(collection, event_id) + "/presenters"
    return _object(client.send("POST", path, json_body={"identity": identity}))


def delete_presenter(
    client: GraphClient, collection: Collection, event_id: str, presenter_id: str
) -> None:
    """Remove a presenter."""
    path = event_path(collection, event_id) + f"/presenters/{quote_segment(presenter_id)}"
    client.send("DELETE", path)


def update_registration_configuration(
    client: GraphClient, event_id: str, *, capacity: int | None
) -> dict[str, Any]:
    """Set a webinar's capacity (registrations beyond it are wait-listed)."""
    path = event_path("webinars", event_id) + "/registrationConfiguration"
    body = {"capacity": capacity, "isWaitlistEnabled": True}
    return client.send("PATCH", path, json_body=body).json_object()


def create_question(client: GraphClient, event_id: str, question: dict[str, Any]) -> dict[str, Any]:
    """Add a registration question (beta)."""
    # https://learn.microsoft.com/graph/api/virtualeventregistrationconfiguration-post-questions?view=graph-rest-beta
    path = event_path("webinars", event_id) + "/registrationConfiguration/questions"
    return _object(client.send("POST", beta_url(client, path), json_body=question))


def delete_question(client: GraphClient, event_id: str, question_id: str) -> None:
    """Remove a registration question (beta)."""
    path = event_path("webinars", event_id) + (
        f"/registrationConfiguration/questions/{quote_segment(question_id)}"
    )
    client.send("DELETE", beta_url(client, path))


def register(
    client: GraphClient,
    event_id: str,
    *,
    time_zone: str,
    language: str,
    answers: list[dict[str, Any]],
) -> dict[str, Any]:
    """Register the signed-in person for a webinar (201 and the registration)."""
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-post-registrations
    body = {
        "preferredTimezone": time_zone,
        "preferredLanguage": language,
        "registrationQuestionAnswers": answers,
    }
    path = event_path("webinars", event_id) + "/registrations"
    return _object(client.send("POST", path, json_body=body))


def get_registration(client: GraphClient, event_id: str, registration_id: str) -> dict[str, Any]:
    """Read one registration."""
    # https://learn.microsoft.com/graph/api/virtualeventregistration-get
    path = event_path("webinars", event_id) + f"/registrations/{quote_segment(registration_id)}"
    return _object(client.send("GET", path))


def cancel_registration(client: GraphClient, event_id: str, registration_id: str) -> None:
    """Cancel a registration (its registrant, or an organizer)."""
    # https://learn.microsoft.com/graph/api/virtualeventregistration-cancel
    path = event_path("webinars", event_id) + (
        f"/registrations/{quote_segment(registration_id)}/cancel"
    )
    client.send("POST", path)


def iter_registrations(client: GraphClient, event_id: str) -> Iterator[dict[str, Any]]:
    """Yield every registration of a webinar, page by page."""
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-list-registrations
    path = event_path("webinars", event_id) + "/registrations"
    for page in iter_pages(client, path, params={"$top": 999}):
        for item in page.items:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                yield item


def list_sessions(
    client: GraphClient, collection: Collection, event_id: str
) -> list[dict[str, Any]]:
    """Return an event's sessions."""
    path = event_path(collection, event_id) + "/sessions"
    return _objects(client, path)


def _objects(client: GraphClient, path: str) -> list[dict[str, Any]]:
    return [
        item
        for page in iter_pages(client, path)
        for item in page.items
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


def list_attendance(
    client: GraphClient, collection: Collection, event_id: str, session_id: str
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Return each attendance report of a session with its records."""
    # https://learn.microsoft.com/graph/api/meetingattendancereport-list
    reports_path = event_path(collection, event_id) + (
        f"/sessions/{quote_segment(session_id)}/attendanceReports"
    )
    found: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for report in _objects(client, reports_path):
        records_path = f"{reports_path}/{quote_segment(str(report['id']))}/attendanceRecords"
        found.append((report, _objects(client, records_path)))
    return found


Role = Literal["organizer", "coOrganizer"]


def list_by_user_role(
    client: GraphClient, collection: Collection, role: Role
) -> list[dict[str, Any]]:
    """Return the events the signed-in person organizes (or co-organizes), as Teams keeps them."""
    # https://learn.microsoft.com/graph/api/virtualeventwebinar-getbyuserrole
    # https://learn.microsoft.com/graph/api/virtualeventtownhall-getbyuserrole
    return _objects(client, f"{ROOT}/{collection}/getByUserRole(role='{role}')")


def list_questions(client: GraphClient, event_id: str) -> list[dict[str, Any]]:
    """Return a webinar's registration questions (beta)."""
    # https://learn.microsoft.com/graph/api/virtualeventregistrationconfiguration-list-questions?view=graph-rest-beta
    path = event_path("webinars", event_id) + "/registrationConfiguration/questions"
    return _objects(client, beta_url(client, path))


@dataclass
class EventParts:
    """What one event holds besides itself, read in one go with other events' parts."""

    sessions: list[dict[str, Any]] = field(default_factory=list)
    presenters: list[dict[str, Any]] = field(default_factory=list)
    # A webinar's registration configuration; empty for a town hall.
    configuration: dict[str, Any] = field(default_factory=dict)
    error: GraphError | None = None


def read_event_parts(
    client: GraphClient, events: Sequence[tuple[Collection, str]]
) -> list[EventParts]:
    """Read the sessions, presenters and (webinars) capacity of many events through $batch.

    One request per 20 reads instead of one per read; a part with a further page is read
    page by page on its own. Each event's first refusal is kept in its ``error``.
    """
    # https://learn.microsoft.com/graph/json-batching
    requests: list[BatchRequest] = []
    owners: list[tuple[int, str]] = []
    for index, (collection, event_id) in enumerate(events):
        path = "/" + event_path(collection, event_id)
        parts = ["sessions", "presenters"] + (
            ["registrationConfiguration"] if collection == "webinars" else []
        )
        for part in parts:
            requests.append(BatchRequest("GET", f"{path}/{part}"))
            owners.append((index, part))
    found = [EventParts() for _ in events]
    for (index, part), result in zip(owners, send_batch(client, requests), strict=True):
        held = found[index]
        if held.error is not None:
            continue
        if result.error is not None:
            held.error = result.error
            continue
        body = result.body if isinstance(result.body, dict) else {}
        if part == "registrationConfiguration":
            held.configuration = body
            continue
        collection, event_id = events[index]
        items = [i for i in body.get("value") or [] if isinstance(i, dict) and "id" in i]
        if body.get("@odata.nextLink"):
            items = _objects(client, event_path(collection, event_id) + f"/{part}")
        setattr(held, part, items)
    return found
