"""The calling bot's operations on calls, and the commsNotifications Graph posts about them.

Application permissions only (https://learn.microsoft.com/graph/api/resources/call). Each
function is one documented operation; media is always service-hosted, so the portal never
handles audio, only metadata.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, ValidationError

from comms_portal.graph.errors import InvalidNotification
from comms_portal.graph.http import GraphClient, GraphResponse, quote_segment
from comms_portal.graph.models import (
    GraphModel,
    ModelT,
    describe_validation_error,
    parse_model,
)

SERVICE_HOSTED = {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}
MAX_REDIRECT_TARGETS = 25
REDIRECT_TIMEOUT_RANGE = (15, 90)
MAX_PROMPTS = 20
IdentityKind = Literal["user", "phone", "application", "applicationInstance"]


class Identity(GraphModel):
    """One identity of an identitySet."""

    id: str | None = None
    display_name: str | None = Field(default=None, alias="displayName")


class IdentitySet(GraphModel):
    """Who a party is: a user, a phone number, an application or its instance."""

    # https://learn.microsoft.com/graph/api/resources/identityset
    user: Identity | None = None
    phone: Identity | None = None
    application: Identity | None = None
    application_instance: Identity | None = Field(default=None, alias="applicationInstance")


class ParticipantInfo(GraphModel):
    """The identity of a participant or of a call's source."""

    identity: IdentitySet | None = None


class ResultInfo(GraphModel):
    """Why something ended or failed: code, subcode and message."""

    # https://learn.microsoft.com/graph/api/resources/resultinfo (code and subcode come as
    # numbers on some pages and as strings on others)
    code: int | str | None = None
    subcode: int | str | None = None
    message: str | None = None


class ToneInfo(GraphModel):
    """A DTMF key the caller pressed."""

    # https://learn.microsoft.com/graph/api/resources/toneinfo
    sequence_id: int = Field(alias="sequenceId")
    tone: str


class Participant(GraphModel):
    """One participant of a call."""

    # https://learn.microsoft.com/graph/api/resources/participant
    id: str
    info: ParticipantInfo | None = None
    is_muted: bool = Field(default=False, alias="isMuted")
    is_in_lobby: bool = Field(default=False, alias="isInLobby")


class Call(GraphModel):
    """The call resource, as far as the portal uses it."""

    # https://learn.microsoft.com/graph/api/resources/call
    id: str | None = None
    state: str | None = None
    direction: str | None = None
    source: ParticipantInfo | None = None
    result_info: ResultInfo | None = Field(default=None, alias="resultInfo")
    tone_info: ToneInfo | None = Field(default=None, alias="toneInfo")


class Operation(GraphModel):
    """A long-running action: playPrompt, recordResponse, subscribeToTone, invite, mute."""

    # https://learn.microsoft.com/graph/api/resources/commsoperation
    id: str | None = None
    status: str | None = None
    client_context: str | None = Field(default=None, alias="clientContext")
    result_info: ResultInfo | None = Field(default=None, alias="resultInfo")


class CommsNotification(GraphModel):
    """One change the platform reports about a call, its roster or an operation."""

    # https://learn.microsoft.com/graph/api/resources/commsnotification
    change_type: Literal["created", "updated", "deleted"] = Field(alias="changeType")
    resource_url: str = Field(alias="resourceUrl", min_length=1, max_length=2048)
    resource_data: dict[str, Any] | list[dict[str, Any]] | None = Field(
        default=None, alias="resourceData"
    )

    @property
    def call_id(self) -> str:
        """Return the id of the call the notification is about."""
        parts = self.resource_url.strip("/").split("/")
        return parts[2] if len(parts) > 2 and parts[:2] == ["communications", "calls"] else ""

    @property
    def about(self) -> Literal["call", "participants", "operation", "other"]:
        """Say what the notification is about."""
        parts = self.resource_url.strip("/").split("/")
        if len(parts) == 3:
            return "call"
        if len(parts) == 4 and parts[3] == "participants":
            return "participants"
        if len(parts) == 5 and parts[3] == "operations":
            return "operation"
        return "other"


class CommsNotifications(GraphModel):
    """A callback body: one or more notifications."""

    value: list[CommsNotification] = Field(min_length=1, max_length=1000)


def parse_comms_notifications(body: bytes | str) -> CommsNotifications:
    """Parse a callback body, or raise InvalidNotification saying what is wrong."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidNotification(f"the body is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidNotification("the body is not a JSON object")
    try:
        parsed = CommsNotifications.model_validate(document)
    except ValidationError as error:
        raise InvalidNotification(describe_validation_error(error)) from None
    for item in parsed.value:
        if not item.call_id:
            raise InvalidNotification(f"resourceUrl {item.resource_url[:100]!r} names no call")
    return parsed


def call_of(notification: CommsNotification) -> Call:
    """Read a call notification's resource data."""
    data = notification.resource_data if isinstance(notification.resource_data, dict) else {}
    try:
        return Call.model_validate(data)
    except ValidationError as error:
        raise InvalidNotification(describe_validation_error(error)) from None


def operation_of(notification: CommsNotification) -> Operation:
    """Read an operation notification's resource data."""
    data = notification.resource_data if isinstance(notification.resource_data, dict) else {}
    try:
        return Operation.model_validate(data)
    except ValidationError as error:
        raise InvalidNotification(describe_validation_error(error)) from None


def participants_of(notification: CommsNotification) -> list[Participant]:
    """Read a roster notification's participants (an array, or one entity)."""
    data = notification.resource_data
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    try:
        return [Participant.model_validate(item) for item in items]
    except ValidationError as error:
        raise InvalidNotification(describe_validation_error(error)) from None


def identity(
    kind: IdentityKind, identity_id: str, display_name: str | None = None
) -> dict[str, Any]:
    """Return an invitationParticipantInfo naming one user, number or application."""
    one: dict[str, Any] = {"@odata.type": "#microsoft.graph.identity", "id": identity_id}
    if display_name:
        one["displayName"] = display_name
    return {
        "@odata.type": "#microsoft.graph.invitationParticipantInfo",
        "identity": {"@odata.type": "#microsoft.graph.identitySet", kind: one},
    }


def _parsed(model: type[ModelT], document: object, response: GraphResponse, what: str) -> ModelT:
    return parse_model(
        model,
        document,
        what=what,
        request_id=response.request_id,
        client_request_id=response.client_request_id,
    )


def meeting_from_join_url(join_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the chatInfo and organizerMeetingInfo a bot joins a Teams meeting link with.

    A link reads ``https://teams.microsoft.com/l/meetup-join/<thread id>/<message id>?context=
    {"Tid": "<tenant>", "Oid": "<organizer>"}`` (URL-encoded); Graph's create-call page joins
    scheduled meetings with exactly these parts. Raises ValueError for anything else.
    """
    parts = urlsplit(join_url)
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    if parts.scheme != "https" or len(segments) < 4 or segments[:2] != ["l", "meetup-join"]:
        raise ValueError("not a Teams meeting link (https://…/l/meetup-join/…)")
    thread_id, message_id = segments[2], segments[3]
    if not thread_id.startswith("19:"):
        raise ValueError("the meeting link names no meeting thread")
    try:
        context = json.loads(parse_qs(parts.query).get("context", ["{}"])[0])
    except ValueError:
        raise ValueError("the meeting link's context is not JSON") from None
    if not isinstance(context, dict) or not context.get("Oid") or not context.get("Tid"):
        raise ValueError("the meeting link names no organizer (Oid) and tenant (Tid)")
    chat = {
        "@odata.type": "#microsoft.graph.chatInfo",
        "threadId": thread_id,
        "messageId": message_id,
    }
    meeting = {
        "@odata.type": "#microsoft.graph.organizerMeetingInfo",
        "organizer": {
            "@odata.type": "#microsoft.graph.identitySet",
            "user": {
                "@odata.type": "#microsoft.graph.identity",
                "id": str(context["Oid"]),
                "tenantId": str(context["Tid"]),
            },
        },
        "allowConversationWithoutHost": True,
    }
    return chat, meeting


def _path(call_id: str, tail: str = "") -> str:
    return f"/communications/calls/{quote_segment(call_id)}{tail}"


def create_call(
    client: GraphClient,
    *,
    callback_uri: str,
    targets: Sequence[dict[str, Any]] = (),
    source_instance_id: str | None = None,
    meeting_info: dict[str, Any] | None = None,
    chat_info: dict[str, Any] | None = None,
    subject: str | None = None,
) -> Call:
    """Place a call: to one target, a group, or into a meeting."""
    # https://learn.microsoft.com/graph/api/application-post-calls
    body: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.call",
        "callbackUri": callback_uri,
        "targets": list(targets),
        "requestedModalities": ["audio"],
        "mediaConfig": SERVICE_HOSTED,
    }
    if source_instance_id:
        body["source"] = {
            "@odata.type": "#microsoft.graph.participantInfo",
            "identity": {
                "@odata.type": "#microsoft.graph.identitySet",
                "applicationInstance": {"id": source_instance_id},
            },
        }
    if meeting_info is not None:
        body["meetingInfo"] = meeting_info
    if chat_info is not None:
        body["chatInfo"] = chat_info
    if subject:
        body["subject"] = subject
    response = client.post("/communications/calls", body)
    return _parsed(Call, response.json_object(), response, "call")


def answer(
    client: GraphClient, call_id: str, *, callback_uri: str, prompts: Sequence[str] = ()
) -> None:
    """Answer an incoming call with service-hosted media."""
    # https://learn.microsoft.com/graph/api/call-answer
    media: dict[str, Any] = dict(SERVICE_HOSTED)
    if prompts:
        media["preFetchMedia"] = [{"uri": uri, "resourceId": uri} for uri in prompts]
    client.post(
        _path(call_id, "/answer"),
        {"callbackUri": callback_uri, "acceptedModalities": ["audio"], "mediaConfig": media},
    )


def reject(client: GraphClient, call_id: str, *, reason: str = "None") -> None:
    """Reject an incoming call (None, Busy or Forbidden)."""
    # https://learn.microsoft.com/graph/api/call-reject
    client.post(_path(call_id, "/reject"), {"reason": reason})


def redirect(
    client: GraphClient,
    call_id: str,
    *,
    targets: Sequence[dict[str, Any]],
    timeout: int,
    callback_uri: str | None = None,
) -> None:
    """Ring up to 25 targets at once for an incoming call."""
    # https://learn.microsoft.com/graph/api/call-redirect
    if not 0 < len(targets) <= MAX_REDIRECT_TARGETS:
        raise ValueError(f"redirect takes 1 to {MAX_REDIRECT_TARGETS} targets")
    low, high = REDIRECT_TIMEOUT_RANGE
    if not low <= timeout <= high:
        raise ValueError(f"redirect timeout must be {low} to {high} seconds")
    body: dict[str, Any] = {"targets": list(targets), "timeout": timeout}
    if callback_uri:
        body["callbackUri"] = callback_uri
    client.post(_path(call_id, "/redirect"), body)


def transfer(client: GraphClient, call_id: str, *, target: dict[str, Any]) -> None:
    """Transfer an established call (blind transfer)."""
    # https://learn.microsoft.com/graph/api/call-transfer
    client.post(
        _path(call_id, "/transfer"), {"transferTarget": {"endpointType": "default", **target}}
    )


def play_prompt(
    client: GraphClient, call_id: str, *, prompts: Sequence[str], client_context: str
) -> Operation:
    """Play up to 20 prompts; completion comes as a notification."""
    # https://learn.microsoft.com/graph/api/call-playprompt
    if not 0 < len(prompts) <= MAX_PROMPTS:
        raise ValueError(f"playPrompt takes 1 to {MAX_PROMPTS} prompts")
    response = client.post(
        _path(call_id, "/playPrompt"),
        {
            "clientContext": client_context,
            "prompts": [
                {"@odata.type": "#microsoft.graph.mediaPrompt", "mediaInfo": {"uri": uri}}
                for uri in prompts
            ],
        },
    )
    return _parsed(Operation, response.json_object(), response, "operation")


def subscribe_to_tone(client: GraphClient, call_id: str, *, client_context: str) -> None:
    """Hear the caller's DTMF keys from now on."""
    # https://learn.microsoft.com/graph/api/call-subscribetotone
    client.post(_path(call_id, "/subscribeToTone"), {"clientContext": client_context})


def keep_alive(client: GraphClient, call_id: str) -> None:
    """Keep a call from ending (at least every 45 minutes)."""
    # https://learn.microsoft.com/graph/api/call-keepalive
    client.post(_path(call_id, "/keepAlive"))


def hang_up(client: GraphClient, call_id: str) -> None:
    """Hang up the bot's leg of a call."""
    # https://learn.microsoft.com/graph/api/call-delete
    client.send("DELETE", _path(call_id))


def list_participants(client: GraphClient, call_id: str) -> list[Participant]:
    """Return who is in a call."""
    # https://learn.microsoft.com/graph/api/call-list-participants
    response = client.send("GET", _path(call_id, "/participants"))
    items = response.json_object().get("value")
    if not isinstance(items, list):
        raise response.invalid("'value' is not an array")
    return [_parsed(Participant, item, response, "participant") for item in items]


def invite(
    client: GraphClient,
    call_id: str,
    *,
    participants: Sequence[dict[str, Any]],
    client_context: str,
) -> Operation:
    """Invite people into a group call (or move a call in, with replacesCallId)."""
    # https://learn.microsoft.com/graph/api/participant-invite
    response = client.post(
        _path(call_id, "/participants/invite"),
        {"participants": list(participants), "clientContext": client_context},
    )
    return _parsed(Operation, response.json_object(), response, "operation")


def mute(client: GraphClient, call_id: str, participant_id: str, *, client_context: str) -> None:
    """Mute a participant of a group call."""
    # https://learn.microsoft.com/graph/api/participant-mute
    client.post(
        _path(call_id, f"/participants/{quote_segment(participant_id)}/mute"),
        {"clientContext": client_context},
    )


def remove_participant(client: GraphClient, call_id: str, participant_id: str) -> None:
    """Remove a participant (where the tenant allows this app to)."""
    # https://learn.microsoft.com/graph/api/participant-delete
    client.send("DELETE", _path(call_id, f"/participants/{quote_segment(participant_id)}"))


class DelegationSettings(GraphModel):
    """One delegate or delegator of a person (beta)."""

    # https://learn.microsoft.com/graph/api/resources/delegationsettings?view=graph-rest-beta
    id: str
    is_active: bool = Field(default=True, alias="isActive")
    allowed_actions: dict[str, Any] = Field(default_factory=dict, alias="allowedActions")

    @property
    def receives_calls(self) -> bool:
        return bool(self.allowed_actions.get("receiveCalls"))


def list_delegation(
    client: GraphClient, beta_base_url: str, user_id: str, which: Literal["delegates", "delegators"]
) -> list[DelegationSettings]:
    """Return a person's delegates or delegators (beta; delegated permission only)."""
    # https://learn.microsoft.com/graph/api/callsettings-list-delegates?view=graph-rest-beta
    url = f"{beta_base_url}/users/{quote_segment(user_id)}/communications/callSettings/{which}"
    response = client.send("GET", url)
    items = response.json_object().get("value")
    if not isinstance(items, list):
        raise response.invalid("'value' is not an array")
    return [_parsed(DelegationSettings, item, response, "delegationSettings") for item in items]
