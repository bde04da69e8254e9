"""Activate the reader's time zone for each request, so every time rendered is in it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from accounts.models import User
from accounts.time_zones import BROWSER_ZONE_COOKIE, adopt_browser_zone
from comms_portal import times


@dataclass(frozen=True)
class ReaderZone:
    """The zone a request's page is shown in, and where it came from."""

    name: str
    # "person": the signed-in person's own; "browser": the browser's cookie, for someone
    # signed out; "default": neither known yet (settings.TIME_ZONE).
    source: str


def _stored(user: AbstractBaseUser | AnonymousUser) -> str:
    zone = user.time_zone if isinstance(user, User) and user.is_authenticated else ""
    return zone if zone and times.is_zone(zone) else ""


def _from_browser(request: HttpRequest) -> str:
    name = unquote(request.COOKIES.get(BROWSER_ZONE_COOKIE, ""))[: times.MAX_ZONE_NAME]
    # The cookie is the browser's word only: a name this server does not know is ignored.
    return name if times.is_zone(name) else ""


def _reader_zone(request: HttpRequest, user: AbstractBaseUser | AnonymousUser) -> ReaderZone | None:
    """Return the reader's zone, or None when a signed-in person's browser zone is to be kept."""
    stored = _stored(user)
    if stored:
        return ReaderZone(stored, "person")
    browser = _from_browser(request)
    if browser and user.is_authenticated:
        return None
    if browser:
        return ReaderZone(browser, "browser")
    return ReaderZone(str(settings.TIME_ZONE), "default")


def _activate(request: HttpRequest, zone: ReaderZone) -> None:
    timezone.activate(zone.name)
    request.reader_zone = zone  # type: ignore[attr-defined]


class TimeZoneMiddleware:
    """Show each page in the person's zone, learning it from their browser the first time."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        user = request.user
        zone = _reader_zone(request, user)
        if zone is None:
            assert isinstance(user, User)
            adopt_browser_zone(user=user, name=_from_browser(request))
            zone = ReaderZone(user.time_zone, "person")
        try:
            _activate(request, zone)
            return self.get_response(request)
        finally:
            timezone.deactivate()

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        user = await request.auser()
        zone = _reader_zone(request, user)
        if zone is None:
            assert isinstance(user, User)
            await sync_to_async(adopt_browser_zone)(user=user, name=_from_browser(request))
            zone = ReaderZone(user.time_zone, "person")
        try:
            _activate(request, zone)
            response: HttpResponseBase = await self.get_response(request)
        finally:
            timezone.deactivate()
        return response
