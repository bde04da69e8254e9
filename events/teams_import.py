"""Events a person runs in Teams reach the portal: found by role, imported whole, kept up to date.

https://learn.microsoft.com/graph/api/virtualeventwebinar-getbyuserrole
https://learn.microsoft.com/graph/api/virtualeventtownhall-getbyuserrole
With the person's own delegated token (``VirtualEvent.Read``, which ``VirtualEvent.ReadWrite``
includes) the portal asks for the webinars and town halls they organize and co-organize, and
keeps each as if it had been planned here: its fields, sessions, presenters, questions,
capacity and, for a webinar new to the portal, every registration. The sessions, presenters
and capacity of all the events go through $batch, twenty reads a request. From then on the shared
pipeline (registration notifications, the polling safety net, attendance on request) serves
it like any other event. The import runs in the background; its state sits in Redis for the
console to show.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.token_store import ReauthRequired, TokenUnavailable
from comms_portal.graph import Forbidden, GraphClient, GraphError, NotFound, Throttled, Unauthorized
from comms_portal.graph import virtual_events as api
from comms_portal.notifications.tasks import maintain_subscriptions
from comms_portal.redis_client import get_redis
from events import services, tenant_events
from events.models import MAX_TITLE, Presenter, Question, Session, VirtualEvent

logger = logging.getLogger(__name__)

STATUS_KEY = "portal:events:teams-import:status:"
CLAIM_KEY = "portal:events:teams-import:claim:"
# A status no worker finished within this long is stale (the worker died): look again.
STATUS_SECONDS = 600
ROLES: tuple[api.Role, ...] = ("organizer", "coOrganizer")
COLLECTIONS: tuple[api.Collection, ...] = ("webinars", "townhalls")

State = Literal["idle", "needs_consent", "running", "done", "failed"]


@dataclass
class ImportStatus:
    """Where a person's import from Teams stands, as the console says it."""

    state: State = "idle"
    message: str = ""
    found: int = 0
    added: int = 0
    updated: int = 0
    # Titles of the events this import added, for the page's message.
    added_titles: list[str] = field(default_factory=list)
    finished_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def status_of(user: User) -> ImportStatus:
    """Return the person's last import status (idle when none is known)."""
    if not user.has_scopes(services.EVENT_SCOPES):
        return ImportStatus(
            state="needs_consent",
            message=(
                "To list the webinars and town halls you run in Teams, the portal needs your "
                "permission to read your events."
            ),
        )
    raw = get_redis().get(f"{STATUS_KEY}{user.pk}")
    if raw is None:
        return ImportStatus()
    try:
        data = json.loads(raw)
        return ImportStatus(**data)
    except (ValueError, TypeError):
        return ImportStatus()


def _save_status(user_pk: int, status: ImportStatus) -> None:
    get_redis().set(f"{STATUS_KEY}{user_pk}", json.dumps(status.to_json()), ex=STATUS_SECONDS)


def claim_import(*, user: User, force: bool = False) -> bool:
    """Claim the person's next import (one per EVENTS_TEAMS_IMPORT_SECONDS); mark it running.

    ``force`` (the console's "Look in Teams again") claims even within the interval, but never
    while an import is running.
    """
    if not user.has_scopes(services.EVENT_SCOPES):
        return False
    redis = get_redis()
    key = f"{CLAIM_KEY}{user.pk}"
    if force and status_of(user).state != "running":
        redis.delete(key)
    claimed = redis.set(key, "1", nx=True, ex=int(settings.EVENTS_TEAMS_IMPORT_SECONDS))
    if claimed:
        _save_status(user.pk, ImportStatus(state="running", message="Looking in Teams…"))
    return bool(claimed)


def run_import(*, user_pk: int) -> ImportStatus:
    """Import the person's events from Teams and record how it went."""
    user = User.objects.filter(pk=user_pk).first()
    if user is None:
        return ImportStatus(state="failed", message="No such person.")
    try:
        report = import_from_teams(user=user)
    except (GraphError, ReauthRequired, TokenUnavailable) as error:
        status = ImportStatus(state="failed", message=explain_import(error))
        if isinstance(error, Throttled):
            # Teams asked us to wait: the next console visit may look again after that wait.
            wait = max(30, int(error.retry_after or 30))
            get_redis().set(f"{CLAIM_KEY}{user.pk}", "1", ex=wait)
        else:
            get_redis().delete(f"{CLAIM_KEY}{user.pk}")
        logger.warning("importing the events of person %s from Teams failed: %s", user_pk, error)
        status.finished_at = timezone.now().isoformat()
        _save_status(user.pk, status)
        return status
    report.state = "done"
    report.message = _summary(report)
    report.finished_at = timezone.now().isoformat()
    _save_status(user.pk, report)
    return report


def _summary(report: ImportStatus) -> str:
    if not report.found:
        return "Teams lists no webinars or town halls that you organize or co-organize."
    if report.added:
        names = ", ".join(f"“{title}”" for title in report.added_titles[:3])
        more = f" and {report.added - 3} more" if report.added > 3 else ""
        return f"Added from Teams: {names}{more}. Every event you run in Teams is listed below."
    return "Every event you run in Teams is listed below, up to date."


def explain_import(error: Exception) -> str:
    """Say in words why the events could not be read from Teams."""
    if isinstance(error, ReauthRequired | Unauthorized):
        return "Teams no longer accepts your sign-in: sign out and in again, then reload this page."
    if isinstance(error, TokenUnavailable):
        return (
            "The sign-in service could not be reached, so Teams was not asked. Try again shortly."
        )
    if isinstance(error, Forbidden):
        return (
            "Teams did not let the portal read your events: the permission to read them is "
            "missing or was withdrawn. Grant it again with the link below."
        )
    if isinstance(error, Throttled):
        return (
            "Teams is busy and asked the portal to wait before reading your events. Nothing is "
            "lost: the events already here stay; look again in a minute."
        )
    assert isinstance(error, GraphError)
    return f"Teams could not list your events just now ({error.message}). Try again shortly."


def import_from_teams(*, user: User, client: GraphClient | None = None) -> ImportStatus:
    """Keep every event ``user`` organizes or co-organizes in Teams; return what changed.

    Idempotent: events are keyed by their Graph id, and each import refreshes what Teams says.
    Raises GraphError when Teams refused the listing, throttled or forbade a read (the events
    kept before that stay kept); any other refusal skips only the event it concerns.
    """
    client = client or services.client_as(user)
    listed: dict[str, tuple[api.Collection, dict[str, Any]]] = {}
    for collection in COLLECTIONS:
        for role in ROLES:
            for data in api.list_by_user_role(client, collection, role):
                listed.setdefault(str(data["id"]).lower(), (collection, data))
    report = ImportStatus(found=len(listed))
    known = {
        event.graph_id.lower(): event
        for event in VirtualEvent.objects.filter(graph_id__in=[d["id"] for _, d in listed.values()])
    }
    # A canceled event never changes again: what the portal holds stays true.
    todo = [
        (collection, data, known.get(key))
        for key, (collection, data) in listed.items()
        if known.get(key) is None or known[key].status != VirtualEvent.Status.CANCELED
    ]
    parts = api.read_event_parts(
        client, [(collection, str(data["id"])) for collection, data, _ in todo]
    )
    follow = False
    added: list[VirtualEvent] = []
    for (collection, data, before), part in zip(todo, parts, strict=True):
        try:
            if part.error is not None:
                raise part.error
            event = _keep_event(client, collection, data, part, new=before is None)
        except NotFound:
            continue  # deleted between the listing and the read
        except GraphError as error:
            if isinstance(error, Throttled | Forbidden):
                raise
            logger.warning("importing %s from Teams failed: %s", data.get("id"), error)
            continue
        if event is None:
            continue
        if before is None:
            added.append(event)
        elif _changed(before, event):
            report.updated += 1
        follow = follow or (event.is_webinar and event.status == VirtualEvent.Status.PUBLISHED)
    # Named coming ones first, soonest first; then past ones.
    now = timezone.now()
    added.sort(key=lambda e: (e.ends_at <= now, abs((e.starts_at - now).total_seconds())))
    report.added = len(added)
    report.added_titles = [event.title for event in added]
    if follow:
        # Published webinars get their registration subscription, as ones planned here do.
        transaction.on_commit(lambda: maintain_subscriptions.delay())
    return report


def _changed(before: VirtualEvent, after: VirtualEvent) -> bool:
    fields = ("title", "description", "starts_at", "ends_at", "status", "audience", "capacity")
    return any(getattr(before, name) != getattr(after, name) for name in fields)


def _zone_of(data: dict[str, Any]) -> str:
    """Return the IANA name of the zone the event was planned in (UTC when unknown)."""
    name = str((data.get("startDateTime") or {}).get("timeZone") or "UTC")
    iana = tenant_events.WINDOWS_ZONES.get(name.lower(), name)
    try:
        ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return iana


def _keep_event(
    client: GraphClient,
    collection: api.Collection,
    data: dict[str, Any],
    parts: api.EventParts,
    *,
    new: bool,
) -> VirtualEvent | None:
    """Store one event with its parts, as Teams describes them."""
    with transaction.atomic():
        event = tenant_events.keep(data, collection)
        if event is None:
            return None
        event.time_zone = _zone_of(data)
        event.save(update_fields=["time_zone"])
        _keep_sessions(event, parts.sessions)
        _keep_presenters(event, parts.presenters)
        if event.is_webinar:
            configuration = parts.configuration
            capacity = configuration.get("capacity")
            event.capacity = capacity if isinstance(capacity, int) and capacity > 0 else None
            event.registration_web_url = str(configuration.get("registrationWebUrl") or "")[:500]
            event.save(update_fields=["capacity", "registration_web_url"])
            _keep_questions(client, event)
    # Registrations of a webinar new here are read once; afterwards notifications and the
    # polling safety net keep them, as for webinars planned in the portal.
    if new and event.is_webinar and event.status != VirtualEvent.Status.DRAFT:
        services.sync_registrations(event, client)
    return event


def _moment(value: Any) -> datetime | None:
    """Read a session's time: a dateTimeTimeZone, or the plain date-time some answers give."""
    if isinstance(value, dict):
        return tenant_events.moment_of(value)
    return services.parse_moment(value)


def _keep_sessions(event: VirtualEvent, sessions: list[dict[str, Any]]) -> None:
    seen: list[str] = []
    for data in sessions:
        seen.append(str(data["id"]))
        Session.objects.update_or_create(
            event=event,
            graph_id=str(data["id"]),
            defaults={
                "subject": str(data.get("subject") or event.title)[:255],
                "starts_at": _moment(data.get("startDateTime")) or event.starts_at,
                "ends_at": _moment(data.get("endDateTime")) or event.ends_at,
                "join_url": str(data.get("joinWebUrl") or "")[:1000],
            },
        )
    event.sessions.exclude(graph_id__in=seen).delete()


def _keep_presenters(event: VirtualEvent, presenters: list[dict[str, Any]]) -> None:
    seen: list[str] = []
    for data in presenters:
        identity = data.get("identity") or {}
        guest = "guest" in str(identity.get("@odata.type") or "").lower()
        seen.append(str(data["id"]))
        Presenter.objects.update_or_create(
            event=event,
            graph_id=str(data["id"]),
            defaults={
                "person_graph_id": "" if guest else str(identity.get("id") or "")[:64],
                "display_name": str(identity.get("displayName") or data.get("email") or "")[
                    :MAX_TITLE
                ],
                "email": str(data.get("email") or identity.get("email") or "")[:254],
            },
        )
    event.presenters.exclude(graph_id__in=seen).delete()


def _keep_questions(client: GraphClient, event: VirtualEvent) -> None:
    seen: list[str] = []
    for position, data in enumerate(api.list_questions(client, event.graph_id)):
        custom = "custom" in str(data.get("@odata.type") or "").lower()
        kind = str(data.get("answerInputType") or "text") if custom else "text"
        if kind not in Question.InputType.values:
            kind = Question.InputType.TEXT
        seen.append(str(data["id"]))
        Question.objects.update_or_create(
            event=event,
            graph_id=str(data["id"]),
            defaults={
                "position": position,
                "text": str(data.get("displayName") or "")[:255],
                "input_type": kind,
                "choices": [str(c) for c in data.get("answerChoices") or []] if custom else [],
                "is_required": bool(data.get("isRequired")),
            },
        )
    event.questions.exclude(graph_id__in=seen).delete()
