"""Profile photos from Graph, cached for an hour, with drawn initials when there is none."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from html import escape

from django.core.cache import cache

from accounts.context_processors import initials_of
from accounts.graph_clients import graph_for_app
from accounts.token_store import TokenUnavailable
from comms_portal.graph import GraphError
from comms_portal.graph.users import get_photo

logger = logging.getLogger(__name__)

PHOTO_CACHE_SECONDS = 3600
_CACHE_PREFIX = "directory:photo:v1:"
# Cached in place of bytes when Graph says the person has no photo.
_NO_PHOTO = b""

_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
)


@dataclass(frozen=True)
class Photo:
    """Image bytes and their type; ``cacheable`` is False for a stand-in drawn after a fault."""

    content: bytes
    content_type: str
    cacheable: bool = True


def _content_type(content: bytes) -> str | None:
    for signature, content_type in _SIGNATURES:
        if content.startswith(signature):
            return content_type
    return None


def initials_image(display_name: str) -> bytes:
    """Draw a person's initials as a small SVG."""
    letters = escape(initials_of(display_name))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" role="img">'
        '<rect width="64" height="64" fill="#ecebfb"/>'
        '<text x="32" y="40" font-family="system-ui, sans-serif" font-size="24" '
        f'font-weight="600" text-anchor="middle" fill="#393b9c">{letters}</text></svg>'
    ).encode()


def person_photo(*, graph_id: str, display_name: str) -> Photo:
    """Return a person's photo, from the cache or Graph (app token), else their initials."""
    key = _CACHE_PREFIX + graph_id
    cached = cache.get(key)
    if cached is None:
        try:
            content = get_photo(graph_for_app(), graph_id) or _NO_PHOTO
        except (GraphError, TokenUnavailable) as error:
            # A fault (throttling, an outage) is not "no photo": draw initials, cache nothing.
            logger.warning("photo of %s unavailable: %s", graph_id, error)
            return Photo(initials_image(display_name), "image/svg+xml", cacheable=False)
        if content and _content_type(content) is None:
            logger.warning("photo of %s is not an image format the portal serves", graph_id)
            content = _NO_PHOTO
        cache.set(key, content, PHOTO_CACHE_SECONDS)
        cached = content
    if cached == _NO_PHOTO:
        return Photo(initials_image(display_name), "image/svg+xml")
    return Photo(cached, _content_type(cached) or "application/octet-stream")
