"""Routes of the directory (mounted at /directory/)."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from directory import views

app_name = "directory"

# Graph user ids are GUIDs; anything else is not a person.
PERSON = r"(?P<graph_id>[A-Za-z0-9_.-]{1,64})"

urlpatterns: list[URLPattern] = [
    path("people/search", views.people_search, name="search"),
    re_path(rf"^people/{PERSON}/photo$", views.person_photo, name="photo"),
]
