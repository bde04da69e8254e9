"""Directory endpoints: people's photos."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from directory import photos
from directory.models import Person


def _photo_on_worker_thread(graph_id: str, display_name: str) -> photos.Photo:
    try:
        return photos.person_photo(graph_id=graph_id, display_name=display_name)
    finally:
        # This thread is not a request thread, so Django would never close its connection.
        connections.close_all()


@require_GET
async def person_photo(request: HttpRequest, graph_id: str) -> HttpResponse:
    """Serve a person's photo, or their initials drawn when they have none."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse("Sign in to see photos.", status=401, content_type="text/plain")
    person = await Person.objects.visible().with_graph_id(graph_id).only("display_name").afirst()
    if person is None:
        raise Http404("No such person in the directory.")
    # A wall asks for dozens of photos at once; fetching them off the request thread keeps
    # Graph round trips from queueing every other page and API call behind them.
    photo = await sync_to_async(_photo_on_worker_thread, thread_sensitive=False)(
        graph_id, person.display_name
    )
    response = HttpResponse(photo.content, content_type=photo.content_type)
    response["Cache-Control"] = (
        f"private, max-age={photos.PHOTO_CACHE_SECONDS}" if photo.cacheable else "no-store"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
