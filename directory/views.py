"""Directory endpoints: the people picker's search and people's photos."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.guards import signed_in_api
from directory import photos, selectors
from directory.forms import PeopleSearchForm
from directory.models import Person


def _found(person: Person) -> dict[str, str]:
    return {
        "id": person.graph_id,
        "name": person.display_name,
        "jobTitle": person.job_title,
        "department": person.department,
        "mail": person.mail,
        "photoUrl": reverse("directory:photo", args=[person.graph_id]),
    }


@never_cache
@signed_in_api
@require_GET
def people_search(request: HttpRequest) -> JsonResponse:
    """Return the visible people matching ``q``, best first (at most ``limit``), and the total."""
    form = PeopleSearchForm(request.GET)
    if not form.is_valid():
        return JsonResponse({"error": form.error_text()}, status=400)
    found = selectors.search_people(text=form.text(), limit=form.limit_or_default())
    return JsonResponse({"results": [_found(p) for p in found.people], "count": found.count})


def _photo_on_worker_thread(graph_id: str, display_name: str) -> photos.Photo:
    try:
        return photos.person_photo(graph_id=graph_id, display_name=display_name)
    finally:
        # This thread is not a request thread, so Django would never close its connection.
        connections.close_all()


@signed_in_api
@require_GET
async def person_photo(request: HttpRequest, graph_id: str) -> HttpResponse:
    """Serve a person's photo, or their initials drawn when they have none."""
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
