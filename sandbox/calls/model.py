"""Calls, their participants and operations, as Graph's call resource describes them.

https://learn.microsoft.com/graph/api/resources/call (states: incoming, establishing,
ringing, established, hold, transferring, transferAccepted, redirecting, terminating,
terminated). Only metadata lives here: the sandbox carries no media, keeps no recording and
forgets every tone once it is delivered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sandbox.graph.odata_types import format_graph_datetime

PartyKind = Literal["user", "phone", "application", "applicationInstance"]
CALL_STATES = (
    "incoming",
    "establishing",
    "ringing",
    "established",
    "hold",
    "transferring",
    "transferAccepted",
    "redirecting",
    "terminating",
    "terminated",
)
# Graph's tone names for DTMF keys (https://learn.microsoft.com/graph/api/resources/toneinfo).
TONES = {
    **{str(digit): f"tone{digit}" for digit in range(10)},
    "*": "star",
    "#": "pound",
    "A": "a",
    "B": "b",
    "C": "c",
    "D": "d",
}


def new_id() -> str:
    """Return a fresh id in the shape Graph gives calls and operations."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Party:
    """Someone or something in a call: a Teams user, a phone number, an app or its instance."""

    kind: PartyKind
    id: str
    display_name: str | None = None
    tenant_id: str | None = None

    def identity(self) -> dict[str, Any]:
        """Return the identitySet naming this party."""
        identity: dict[str, Any] = {"@odata.type": "#microsoft.graph.identity", "id": self.id}
        if self.display_name is not None:
            identity["displayName"] = self.display_name
        if self.tenant_id is not None and self.kind == "user":
            identity["tenantId"] = self.tenant_id
            identity["identityProvider"] = "AAD"
        # Graph lists the identity set's other members as null.
        return {
            "@odata.type": "#microsoft.graph.identitySet",
            "application": None,
            "device": None,
            "user": None,
            "phone": None,
            self.kind: identity,
        }

    def participant_info(self) -> dict[str, Any]:
        """Return the participantInfo of this party."""
        return {
            "@odata.type": "#microsoft.graph.participantInfo",
            "identity": self.identity(),
            "countryCode": None,
            "endpointType": None,
            "languageId": "en-US",
            "region": "westeurope",
        }

    def invitation(self) -> dict[str, Any]:
        """Return the invitationParticipantInfo of this party."""
        return {
            "@odata.type": "#microsoft.graph.invitationParticipantInfo",
            "identity": self.identity(),
            "endpointType": None,
            "id": None,
            "replacesCallId": None,
        }


@dataclass
class Participant:
    """One participant of a call."""

    id: str
    party: Party
    is_muted: bool = False
    is_in_lobby: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the participant resource."""
        return {
            "@odata.type": "#microsoft.graph.participant",
            "id": self.id,
            "info": {**self.party.participant_info(), "id": self.id},
            "mediaStreams": [
                {
                    "@odata.type": "#microsoft.graph.mediaStream",
                    "mediaType": "audio",
                    "label": "main-audio",
                    "sourceId": "1",
                    "direction": "sendReceive",
                    "serverMuted": self.is_muted,
                }
            ],
            "isMuted": self.is_muted,
            "isInLobby": self.is_in_lobby,
            "metadata": None,
        }


@dataclass
class Operation:
    """A long-running action on a call (playPrompt, recordResponse, invite, mute, tones)."""

    id: str
    odata_type: str  # e.g. playPromptOperation
    client_context: str | None
    status: str = "running"  # notStarted, running, completed, failed
    result: tuple[int, int, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = 1

    def to_json(self, call_id: str) -> dict[str, Any]:
        """Return the operation resource."""
        body: dict[str, Any] = {
            "@odata.type": f"#microsoft.graph.{self.odata_type}",
            "@odata.id": f"/communications/calls/{call_id}/operations/{self.id}",
            "@odata.etag": f'W/"{self.version}"',
            "id": self.id,
            "status": self.status,
            "clientContext": self.client_context,
            "resultInfo": None,
            **self.extra,
        }
        if self.result is not None:
            code, subcode, message = self.result
            body["resultInfo"] = {
                "@odata.type": "#microsoft.graph.resultInfo",
                "code": code,
                "subcode": subcode,
                "message": message,
            }
        return body


@dataclass
class Ring:
    """A person or number being rung for a call: answered, declined or left to time out."""

    party: Party
    purpose: Literal["outgoing", "redirect", "transfer", "invite"]
    due_at: float  # when the ringing ends: answer, decline or timeout
    outcome: Literal["answer", "decline", "unreachable", "timeout"]
    operation_id: str | None = None


@dataclass
class Call:
    """One call the bot takes part in."""

    id: str
    tenant_id: str
    bot: Party  # the bot application (or its application instance for the reception line)
    direction: Literal["incoming", "outgoing"]
    state: str
    source: Party
    targets: list[Party]
    callback_uri: str | None
    created_at: float
    requested_modalities: list[str] = field(default_factory=lambda: ["audio"])
    chain_id: str = field(default_factory=new_id)
    my_participant_id: str = field(default_factory=new_id)
    participants: dict[str, Participant] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    rings: list[Ring] = field(default_factory=list)
    is_group: bool = False
    meeting: dict[str, Any] | None = None
    subject: str | None = None
    last_keep_alive: float = 0.0
    incoming_deadline: float | None = None
    tones_subscribed: bool = False
    # Addresses of the prompts played in the call, in order (the sandbox carries no media).
    prompts_played: list[str] = field(default_factory=list)
    tone_sequence: int = 0
    # Wall-clock time (Unix seconds) the bot's answer request arrived: for timing the bot.
    answer_received_at: float | None = None
    result: tuple[int, int, str] | None = None
    # Who the caller ended up talking to once the bot left (redirect, transfer).
    connected_to: Party | None = None
    # The app that placed the call, or the bot whose line it rang: the callbacks' audience.
    owner_app_id: str = ""
    media_config: dict[str, Any] = field(
        default_factory=lambda: {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}
    )
    chat: dict[str, Any] | None = None
    version: int = 1
    # When the conversation began (first established, or first taken by a person), when it
    # ended, and every party who was in it: what the call-records part needs once it is over.
    began_at: float | None = None
    ended_at: float | None = None
    took_part: dict[str, Party] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.state in ("terminating", "terminated")

    def resource_url(self) -> str:
        return f"/communications/calls/{self.id}"

    def to_json(self) -> dict[str, Any]:
        """Return the call resource."""
        body: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.call",
            "@odata.id": self.resource_url(),
            "@odata.etag": f'W/"{self.version}"',
            "id": self.id,
            "state": self.state,
            "direction": self.direction,
            "callbackUri": self.callback_uri,
            "callChainId": self.chain_id,
            "source": self.source.participant_info(),
            "targets": [target.invitation() for target in self.targets],
            "requestedModalities": self.requested_modalities,
            "mediaConfig": {"preFetchMedia": [], **self.media_config},
            "myParticipantId": self.my_participant_id,
            "subject": self.subject,
            "ringingTimeoutInSeconds": None,
            "mediaState": None,
            "answeredBy": None,
            "chatInfo": self.chat,
            "meetingInfo": self.meeting,
            "transcription": None,
            "resultInfo": None,
            "toneInfo": None,
        }
        if self.result is not None:
            code, subcode, message = self.result
            body["resultInfo"] = {
                "@odata.type": "#microsoft.graph.resultInfo",
                "code": code,
                "subcode": subcode,
                "message": message,
            }
        return body

    def ended_json(self) -> dict[str, Any]:
        """Return the call resource with what an ended call adds for ``sandbox.hooks``.

        ``startDateTime`` and ``endDateTime`` (ISO 8601, UTC) say when the conversation began
        and ended (a call nobody took begins and ends at once), and ``participants`` lists the
        ``participantInfo`` of everyone who was in it, the bot too.
        """
        ended = self.ended_at if self.ended_at is not None else self.created_at
        began = self.began_at if self.began_at is not None else ended
        return {
            **self.to_json(),
            "startDateTime": format_graph_datetime(datetime.fromtimestamp(began, tz=UTC)),
            "endDateTime": format_graph_datetime(datetime.fromtimestamp(ended, tz=UTC)),
            "participants": [party.participant_info() for party in self.took_part.values()],
        }
