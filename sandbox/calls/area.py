"""The running calls of the tenant's calling bot: timers, simulated people and callback delivery.

Simulated people answer as their presence allows: someone ``Available`` answers after
``answer_seconds``; ``Busy`` declines, ``DoNotDisturb`` declines at once; ``Away`` and
``BeRightBack`` let it ring until the timeout; ``Offline`` cannot be reached. Whoever answers
shows ``Busy``/``InACall`` until their call ends. Phone numbers answer unless the control API
says otherwise. An incoming call nobody answers, rejects or redirects within 15 seconds is
dropped; a call without a keepAlive for 45 minutes ends (408/8537).

Callbacks are posted in the order they happen, one at a time, each with a fresh token of the
calling platform. Nothing of the media is kept: tones are delivered and forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import itertools
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from sandbox import hooks
from sandbox.calls.model import Call, Operation, Participant, Party, Ring, new_id
from sandbox.calls.platform import ISSUER, callback_token, configuration_url
from sandbox.notifications.transport import trust_context
from sandbox.presence.model import Session
from sandbox.presence.service import presence_of
from sandbox.state import SandboxState
from sandbox.tenant import App

logger = logging.getLogger("sandbox.calls")

INCOMING_ANSWER_SECONDS = 15.0
KEEP_ALIVE_SECONDS = 45 * 60
TICK_SECONDS = 0.05
DELIVERY_ATTEMPTS = 3
DELIVERY_RETRY_SECONDS = 0.5
DELIVERY_TIMEOUT_SECONDS = 10.0
LOG_KEEP = 2000
BOT_APPLICATION = (
    "Calls.Initiate.All",
    "Calls.InitiateGroupCall.All",
    "Calls.JoinGroupCall.All",
    "Calls.JoinGroupCallAsGuest.All",
    "Calls.AccessMedia.All",
    "Presence.Read.All",
    "User.Read.All",
    "OnlineMeetings.ReadWrite.All",
)
Behaviour = Literal["presence", "answer", "decline", "noAnswer", "unreachable"]
BEHAVIOURS: tuple[Behaviour, ...] = ("presence", "answer", "decline", "noAnswer", "unreachable")


def _seeded(seed: int, name: str) -> str:
    digest = hashlib.sha256(f"sandbox-calls:{seed}:{name}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


@dataclass
class Settings:
    """How simulated people and the platform behave; the control API changes them."""

    answer_seconds: float = 1.0
    decline_seconds: float = 1.0
    prompt_seconds: float = 2.0
    transfer_timeout_seconds: float = 20.0
    invite_timeout_seconds: float = 30.0
    allow_remove_participants: bool = False
    # How long callback tokens last; negative mints expired ones (to test a bot's checks).
    callback_token_seconds: int = 3600

    def to_json(self) -> dict[str, Any]:
        return {
            "answerSeconds": self.answer_seconds,
            "declineSeconds": self.decline_seconds,
            "promptSeconds": self.prompt_seconds,
            "transferTimeoutSeconds": self.transfer_timeout_seconds,
            "inviteTimeoutSeconds": self.invite_timeout_seconds,
            "allowRemoveParticipants": self.allow_remove_participants,
            "callbackTokenSeconds": self.callback_token_seconds,
        }


@dataclass
class Delivery:
    """One callback to post, and what became of it."""

    url: str
    body: dict[str, Any]
    call_id: str
    audience: str = ""
    outcome: str = "pending"
    status: int | None = None
    attempts: int = 0
    latency_ms: float = 0.0  # the bot's answer time of the last attempt
    posted_at: float | None = None  # wall-clock time (Unix seconds) the last attempt began

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "latencyMs": round(self.latency_ms, 2),
            "postedAt": self.posted_at,
            "callId": self.call_id,
            "outcome": self.outcome,
            "status": self.status,
            "attempts": self.attempts,
            "body": self.body,
        }


@dataclass
class CallsArea:
    """Everything the calls area holds at run time."""

    state: SandboxState
    bot_app: App
    reception: Party  # the reception line's application instance, with its phone number
    reception_phone: str
    webhook_url: str | None = None
    calls: dict[str, Call] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)  # user id or phone number
    # Delegates of each person (beta call delegation): delegator id -> delegate settings.
    delegates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _timers: list[tuple[float, int, Callable[[], None]]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)
    _outbox: deque[Delivery] = field(default_factory=deque)
    _wake: asyncio.Event | None = None
    log: deque[Delivery] = field(default_factory=lambda: deque(maxlen=LOG_KEEP))
    _prior: dict[str, Session | None] = field(default_factory=dict)
    _in_calls: dict[str, int] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def now(self) -> float:
        return self.state.clock.timestamp()

    @property
    def bot(self) -> Party:
        return Party("application", self.bot_app.client_id, self.bot_app.name)

    # --- timers ------------------------------------------------------------------------

    def at(self, seconds: float, action: Callable[[], None]) -> None:
        """Run ``action`` (under the state lock) ``seconds`` from now on the sandbox clock."""
        heapq.heappush(self._timers, (self.now() + seconds, next(self._order), action))

    def run_due(self) -> None:
        """Run the timers that are due, and end calls whose keepAlive lapsed."""
        now = self.now()
        while self._timers and self._timers[0][0] <= now:
            _, _, action = heapq.heappop(self._timers)
            try:
                action()
            except Exception:
                logger.exception("calls timer failed")
        for call in list(self.calls.values()):
            if not call.ended and now - call.last_keep_alive > KEEP_ALIVE_SECONDS:
                self.terminate(call, (408, 8537, "The call was ended: no keepAlive in 45 min."))

    # --- callbacks ---------------------------------------------------------------------

    def notify(
        self,
        call: Call,
        change_type: str,
        resource_url: str,
        resource_data: Any,
        *,
        url: str | None = None,
    ) -> None:
        """Queue one commsNotification about ``call`` for the bot."""
        target = url or call.callback_uri or self.webhook_url
        if not target:
            logger.warning("call %s: no callback URI to notify", call.id)
            return
        notification: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.commsNotification",
            "changeType": change_type,
            "resourceUrl": resource_url,
            "resourceData": resource_data,
        }
        if call.callback_uri:
            notification["callbackUri"] = call.callback_uri
        body = {"@odata.type": "#microsoft.graph.commsNotifications", "value": [notification]}
        audience = call.owner_app_id or self.bot_app.client_id
        self._outbox.append(Delivery(url=target, body=body, call_id=call.id, audience=audience))
        if self._wake is not None:
            self._wake.set()

    def notify_state(self, call: Call, **extra: Any) -> None:
        """Tell the bot the call's state (changeType updated, or deleted once terminated)."""
        data: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.call",
            "@odata.id": call.resource_url(),
            "id": call.id,
            "state": call.state,
            "direction": call.direction,
            **extra,
        }
        if call.result is not None:
            data["resultInfo"] = call.to_json()["resultInfo"]
        change = "deleted" if call.state == "terminated" else "updated"
        self.notify(call, change, call.resource_url(), data)

    def notify_roster(self, call: Call) -> None:
        """Tell the bot who is in the call now."""
        self.notify(
            call,
            "updated",
            call.resource_url() + "/participants",
            [participant.to_json() for participant in call.participants.values()],
        )

    def complete(
        self, call: Call, operation: Operation, result: tuple[int, int, str], *, failed: bool
    ) -> None:
        """Finish an operation and tell the bot (changeType deleted on its resource)."""
        if operation.status in ("completed", "failed"):
            return
        operation.status = "failed" if failed else "completed"
        operation.result = result
        operation.version += 1
        self.notify(
            call,
            "deleted",
            f"{call.resource_url()}/operations/{operation.id}",
            operation.to_json(call.id),
        )

    async def deliver_forever(self) -> None:
        """Post queued callbacks one at a time, in order, each with a fresh platform token."""
        self._wake = asyncio.Event()
        async with httpx.AsyncClient(
            verify=trust_context(self.state.ca_bundle), trust_env=False
        ) as client:
            while True:
                if not self._outbox:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                delivery = self._outbox.popleft()
                await self._deliver(client, delivery)

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        for attempt in range(1, DELIVERY_ATTEMPTS + 1):
            delivery.attempts = attempt
            with self.state.lock:
                token = callback_token(
                    self.state,
                    bot_app_id=delivery.audience or self.bot_app.client_id,
                    tenant_id=self.tenant_id,
                    lifetime=self.settings.callback_token_seconds,
                )
            delivery.posted_at = time.time()
            started = time.perf_counter()
            try:
                response = await client.post(
                    delivery.url,
                    json=delivery.body,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=DELIVERY_TIMEOUT_SECONDS,
                )
            except httpx.HTTPError as error:
                delivery.outcome, delivery.status = f"unreachable: {error}", None
            else:
                delivery.latency_ms = (time.perf_counter() - started) * 1000
                delivery.status = response.status_code
                if 200 <= response.status_code < 300:
                    delivery.outcome = "delivered"
                    break
                delivery.outcome = f"status {response.status_code}"
            await asyncio.sleep(DELIVERY_RETRY_SECONDS)
        self.log.append(delivery)

    @property
    def tenant_id(self) -> str:
        return self.state.tenant.tenant_id

    # --- people ------------------------------------------------------------------------

    def party_of_user(self, user_id: str) -> Party | None:
        user = self.state.tenant.directory_user(user_id)
        if user is None:
            return None
        return Party("user", user.id, user.display_name, user.tenant_id)

    def behaviour_of(
        self, party: Party
    ) -> tuple[Literal["answer", "decline", "unreachable", "timeout"], float]:
        """Say what a rung party does and after how long (``timeout`` rings until the end)."""
        chosen = self.behaviours.get(party.id.lower(), "presence")
        answer, decline = self.settings.answer_seconds, self.settings.decline_seconds
        if chosen == "answer":
            return "answer", answer
        if chosen == "decline":
            return "decline", decline
        if chosen == "noAnswer":
            return "timeout", 0.0
        if chosen == "unreachable":
            return "unreachable", 0.0
        if party.kind != "user":
            return "answer", answer
        person = presence_of(self.state).store.get(party.id)
        availability = person.view.availability if person and person.view else "Offline"
        if availability in ("Available", "AvailableIdle"):
            return "answer", answer
        if availability in ("Busy", "BusyIdle"):
            return "decline", decline
        if availability == "DoNotDisturb":
            return "decline", 0.0
        if availability in ("Away", "BeRightBack"):
            return "timeout", 0.0
        return "unreachable", 0.0

    def joined(self, party: Party) -> None:
        """Show a person who joined a call as Busy / InACall."""
        if party.kind != "user":
            return
        key = party.id.lower()
        area = presence_of(self.state)
        person = area.store.get(key)
        if person is None:
            return
        self._in_calls[key] = self._in_calls.get(key, 0) + 1
        if self._in_calls[key] == 1:
            self._prior[key] = person.teams
        now = self.now()

        def busy(presence: Any) -> None:
            presence.teams = Session("Busy", "InACall", set_at=now, expires_at=None)

        area.store.change(key, now, busy)

    def left(self, party: Party) -> None:
        """Give a person who left their last call back what their Teams client showed."""
        key = party.id.lower()
        if party.kind != "user" or key not in self._in_calls:
            return
        self._in_calls[key] -= 1
        if self._in_calls[key] > 0:
            return
        del self._in_calls[key]
        prior = self._prior.pop(key, None)
        area = presence_of(self.state)
        if area.store.get(key) is None:
            return
        now = self.now()

        def restore(presence: Any) -> None:
            presence.teams = (
                None
                if prior is None
                else Session(prior.availability, prior.activity, set_at=now, expires_at=None)
            )

        area.store.change(key, now, restore)

    # --- call life -----------------------------------------------------------------------

    def add_call(self, call: Call) -> Call:
        call.last_keep_alive = self.now()
        call.owner_app_id = call.owner_app_id or self.bot_app.client_id
        self.calls[call.id] = call
        return call

    def set_state(self, call: Call, state: str, **extra: Any) -> None:
        """Move ``call`` to ``state`` and tell the bot."""
        call.state = state
        if state == "established" and call.began_at is None:
            call.began_at = self.now()
        call.version += 1
        self.notify_state(call, **extra)

    def add_participant(self, call: Call, party: Party, *, notify: bool = True) -> Participant:
        """Put ``party`` in the call (and show a person as in a call)."""
        participant = Participant(id=new_id(), party=party)
        call.participants[participant.id] = participant
        call.took_part.setdefault(party.id, party)
        if party.kind == "user":
            self.joined(party)
        if notify:
            self.notify_roster(call)
        return participant

    def remove_participant(self, call: Call, participant_id: str) -> Participant | None:
        """Take a participant out of the call."""
        participant = call.participants.pop(participant_id, None)
        if participant is not None:
            self.left(participant.party)
            self.notify_roster(call)
        return participant

    def terminate(
        self, call: Call, result: tuple[int, int, str], *, terminating_first: bool = False
    ) -> None:
        """End ``call``: everyone leaves, the bot hears ``terminated`` (changeType deleted)."""
        if call.state == "terminated":
            return
        if terminating_first:
            self.set_state(call, "terminating")
        call.result = result
        call.rings.clear()
        for participant in list(call.participants.values()):
            self.left(participant.party)
        call.participants.clear()
        if call.connected_to is None:
            for operation in call.operations.values():
                if operation.status == "running":
                    operation.status = "failed"
        self.set_state(call, "terminated")
        if call.connected_to is not None:
            # The caller talks on with whoever took the call; the bot is out of it.
            return
        self.call_over(call)

    def connect(self, call: Call, party: Party) -> None:
        """``party`` took the caller over (redirect, transfer): the two talk on without the bot."""
        self.joined(party)
        call.connected_to = party
        call.took_part.setdefault(call.source.id, call.source)
        call.took_part.setdefault(party.id, party)
        if call.began_at is None:
            call.began_at = self.now()

    def call_over(self, call: Call) -> None:
        """Note when the conversation ended and tell whoever listens (``sandbox.hooks``)."""
        call.ended_at = self.now()
        hooks.call_ended(call.ended_json())

    def end_connection(self, call: Call, result: tuple[int, int, str]) -> None:
        """End the conversation a redirected or transferred caller went on with."""
        if call.connected_to is not None:
            self.left(call.connected_to)
            call.connected_to = None
            call.result = result
            self.call_over(call)

    def ring(
        self,
        call: Call,
        party: Party,
        *,
        purpose: Literal["outgoing", "redirect", "transfer", "invite"],
        timeout: float,
        on_answer: Callable[[Ring], None],
        on_fail: Callable[[Ring], None],
        operation_id: str | None = None,
    ) -> Ring:
        """Ring ``party`` for ``call``; call back ``on_answer`` or ``on_fail`` when it ends."""
        outcome, delay = self.behaviour_of(party)
        due = timeout if outcome == "timeout" else min(delay, timeout)
        if outcome == "answer" and delay > timeout:
            outcome = "timeout"
        ring = Ring(party, purpose, self.now() + due, outcome, operation_id)
        call.rings.append(ring)

        def settle() -> None:
            if ring not in call.rings:
                return  # answered elsewhere, cancelled, or the call ended
            call.rings.remove(ring)
            if ring.outcome == "answer":
                on_answer(ring)
            else:
                on_fail(ring)

        self.at(due, settle)
        return ring


def calling_info(area: CallsArea) -> dict[str, Any]:
    """Return what a portal needs to act as the calling bot."""
    return {
        "bot_app_id": area.bot_app.client_id,
        "bot_client_secret": area.bot_app.client_secret,
        "bot_name": area.bot_app.name,
        "openid_configuration": configuration_url(area.state),
        "issuer": ISSUER,
        "reception": {
            "id": area.reception.id,
            "displayName": area.reception.display_name,
            "phone": area.reception_phone,
        },
        "webhook": area.webhook_url,
    }


_AREA = "calls"
_SEED = 1
# Where ``python -m sandbox --calling-webhook`` puts the bot's calling webhook.
CALLING_WEBHOOK = "calls.webhook"


def calls_of(state: SandboxState) -> CallsArea:
    """Return the calls area of ``state``, building it (and the bot registration) on first use."""
    area = state.extensions.get(_AREA)
    if isinstance(area, CallsArea):
        return area
    with state.lock:
        area = state.extensions.get(_AREA)
        if isinstance(area, CallsArea):
            return area
        tenant = state.tenant
        seed = _seed_of(state)
        bot = App(
            client_id=_seeded(seed, "bot"),
            client_secret="sbx~" + hashlib.sha256(f"bot:{seed}".encode()).hexdigest()[:36],
            name="Comms Portal Calling Bot",
            redirect_uris=(),
            delegated=(),
            application=BOT_APPLICATION,
        )
        tenant.apps[bot.client_id] = bot
        phone = "+441179460000"
        reception = Party("applicationInstance", _seeded(seed, "reception"), "Reception")
        area = CallsArea(state=state, bot_app=bot, reception=reception, reception_phone=phone)
        area.delegates = _seed_delegates(state)
        webhook = state.extensions.get(CALLING_WEBHOOK)
        area.webhook_url = webhook if isinstance(webhook, str) else None
        state.extensions[_AREA] = area
        return area


def _seed_of(state: SandboxState) -> int:
    # The tenant id is derived from the seed, so it stands in for it.
    return int(uuid.UUID(state.tenant.tenant_id).int % 1_000_000) or _SEED


def _seed_delegates(state: SandboxState) -> dict[str, list[dict[str, Any]]]:
    """Give the first people of the cast delegates, as Teams' call delegation keeps them."""
    cast = {user.user_principal_name.split("@")[0]: user for user in state.tenant.users[:12]}

    def settings(user_id: str, created: str, *, make_calls: bool) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.delegationSettings",
            "id": user_id,
            "createdDateTime": created,
            "isActive": True,
            "allowedActions": {
                "@odata.type": "microsoft.graph.delegateAllowedActions",
                "makeCalls": make_calls,
                "receiveCalls": True,
                "manageCallAndDelegateSettings": False,
                "pickUpHeldCalls": True,
                "joinActiveCalls": False,
            },
        }

    pairs = [
        ("megan.reyes", "daniel.okafor", True),
        ("megan.reyes", "lena.brandt", False),
        ("priya.natarajan", "tomas.lindqvist", True),
    ]
    delegates: dict[str, list[dict[str, Any]]] = {}
    for delegator, delegate, make_calls in pairs:
        if delegator in cast and delegate in cast:
            delegates.setdefault(cast[delegator].id, []).append(
                settings(cast[delegate].id, "2026-01-05T09:00:00Z", make_calls=make_calls)
            )
    return delegates


async def start_calls(state: SandboxState) -> None:
    """Build the area and start its timer and delivery loops; once, from the app's startup."""
    area = calls_of(state)

    async def timers() -> None:
        while True:
            with state.lock:
                area.run_due()
            await asyncio.sleep(TICK_SECONDS)

    area._tasks = [
        asyncio.create_task(timers(), name="calls-timers"),
        asyncio.create_task(area.deliver_forever(), name="calls-callbacks"),
    ]


async def stop_calls(state: SandboxState) -> None:
    """Stop the loops; from the app's shutdown."""
    area = calls_of(state)
    for task in area._tasks:
        task.cancel()
    for task in area._tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    area._tasks = []
