"""Background work of calls: keepAlive, call-backs, call-out retries, call delegation."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_process_init

from calls import delegation, dispatch, incidents, services, speech


@shared_task(name="calls.keep_alive", ignore_result=True)
def keep_calls_alive() -> int:
    """Keep every live call from timing out."""
    return services.keep_calls_alive()


@shared_task(name="calls.place_call_backs", ignore_result=True)
def place_call_backs() -> int:
    """Call back waiting callers whose team has someone Available."""
    return services.place_call_backs()


@shared_task(name="calls.retry_call_outs", ignore_result=True)
def retry_call_outs() -> int:
    """Call again the people an incident call-out has not reached yet."""
    return incidents.retry_call_outs()


@shared_task(name="calls.forget_spoken_messages", ignore_result=True)
def forget_spoken_messages() -> int:
    """Delete the spoken messages of call-outs that are over or past their retention."""
    return speech.forget_spoken_messages()


@shared_task(name="calls.resume_callbacks", ignore_result=True)
def resume_callbacks() -> int:
    """Handle the callbacks left queued for calls nobody is handling."""
    return dispatch.resume_orphans()


@shared_task(name="calls.refresh_delegations", ignore_result=True)
def refresh_delegations() -> int:
    """Read again the call delegation of the signed-in people whose turn it is."""
    return delegation.refresh_due_delegations()


@shared_task(name="calls.watch_routing_people", ignore_result=True)
def watch_routing_people() -> int:
    """Keep the people the reception line may route to current in the presence store."""
    return services.watch_routing_people()


@worker_process_init.connect
def warm_up_answers(**_: object) -> None:
    """Make ready, as each worker process starts, what answering a new caller needs."""
    dispatch.start_warm_up()
