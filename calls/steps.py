"""Small steps every call flow takes: where callbacks and prompts are, telling the board."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from calls.bot import graph_for_bot
from calls.models import Call, CallEvent
from comms_portal import live
from comms_portal.graph import calls as graph_calls

logger = logging.getLogger(__name__)

BOARD_TOPIC = "calls:board"
# What the caller should have heard, by the clientContext the flows play it with
# (services.MENU, OFFER and BYE, incidents.LISTEN).
PROMPT_NAMES = {
    "menu": "the greeting",
    "offer": "the call-back offer",
    "bye": "the closing message",
    "incident": "the incident message",
}


def callback_uri() -> str:
    """Return where the platform posts this bot's callbacks."""
    path = reverse("notifications:intake", kwargs={"kind": "calls"})
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def prompt_uri(slot: str) -> str:
    """Return the address the platform fetches a prompt of the line from."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("calls:prompt", kwargs={"slot": slot})


def summary(call: Call) -> dict[str, Any]:
    """Return what the board shows of a call."""
    return {
        "id": call.pk,
        "state": call.state,
        "caller": call.caller_label,
        "routing": call.routing,
        "purpose": call.purpose,
    }


def publish(call: Call) -> None:
    """Tell the board's pages about the call, once the change is committed."""
    message = {"type": "call", "call": summary(call)}
    transaction.on_commit(lambda: live.publish(BOARD_TOPIC, message))


def event(call: Call, text: str) -> None:
    """Note one step of the call for its page."""
    CallEvent.objects.create(call=call, text=text[:300])


def play(call: Call, slot: str | list[str], context: str) -> None:
    """Play one of the line's prompts (or several in a row); the flow waits for ``context``."""
    call.waiting_for = context
    call.save(update_fields=["waiting_for", "routing", "updated_at"])
    slots = [slot] if isinstance(slot, str) else slot
    graph_calls.play_prompt(
        graph_for_bot(),
        call.graph_id,
        prompts=[prompt_uri(one) for one in slots],
        client_context=context,
    )


def note_unplayed(call: Call, operation: graph_calls.Operation) -> None:
    """Log, and note on the call's page, that a prompt could not be played and why.

    The flow goes on: keys pressed still count, and a closing message still ends the call.
    """
    what = PROMPT_NAMES.get(operation.client_context or "", "a prompt")
    result = operation.result_info
    why = (result.message if result is not None else None) or "no reason given"
    logger.warning(
        "call %s: %s could not be played (%s/%s): %s",
        call.graph_id,
        what,
        result.code if result is not None else None,
        result.subcode if result is not None else None,
        why,
    )
    event(call, f"{what[0].upper()}{what[1:]} could not be played: {why}")
    # An open call page shows the note at once.
    publish(call)
