"""Background work on people's accounts."""

from __future__ import annotations

from celery import shared_task

from accounts import services


@shared_task(ignore_result=True, acks_late=True)
def refresh_profile(user_id: int) -> None:
    """Refresh one person's name and e-mail from Graph, as that person."""
    services.refresh_profile(user_id=user_id)


@shared_task(ignore_result=True)
def refresh_all_profiles() -> None:
    """Queue a profile refresh for everyone whose tokens still work."""
    for user_id in services.people_to_refresh():
        refresh_profile.delay(user_id)
