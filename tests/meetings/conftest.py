"""The meetings tests' cast: people signed in with the meetings permissions, the directory."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.identity import FEATURE_SCOPES, SIGN_IN_SCOPES
from accounts.models import User
from directory.models import Person
from directory.sync import sync_directory
from tests.support.cast import GRACE, PRIYA, TOMAS
from tests.support.portal_signin import sign_in_person

MEETING_SCOPES = [*SIGN_IN_SCOPES, *FEATURE_SCOPES["meetings"]]


@pytest.fixture
def people(transactional_db: None) -> dict[str, Person]:
    """The directory, synced from the tenant, by first name."""
    sync_directory()
    found = Person.objects.filter(user_principal_name__in=[PRIYA, TOMAS, GRACE])
    return {person.user_principal_name.split(".")[0]: person for person in found}


def signed_in(upn: str) -> tuple[User, Client]:
    """Sign ``upn`` in with the meetings permissions and return them with their browser."""
    user = sign_in_person(upn, scopes=MEETING_SCOPES)
    client = Client()
    client.force_login(user)
    return user, client


def tomorrow_at(hour: int) -> datetime:
    """Return ``hour``:00 UTC tomorrow."""
    day = timezone.now() + timedelta(days=1)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def form_data(start: datetime, **changes: object) -> dict[str, object]:
    """Return the new-meeting form's fields for a half-hour meeting at ``start`` (UTC)."""
    data: dict[str, object] = {
        "subject": "Design review",
        "day": start.strftime("%Y-%m-%d"),
        "start_time": start.strftime("%H:%M"),
        "end_time": (start + timedelta(minutes=30)).strftime("%H:%M"),
        "time_zone": "UTC",
        "invitees": "",
        "lobby_scope": "organization",
        "allowed_presenters": "everyone",
    }
    data.update(changes)
    return data
