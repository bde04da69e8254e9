"""Routes of the people pages (mounted at /people/)."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from presence import views

app_name = "presence"

# Graph user ids are GUIDs; anything else is not a person.
PERSON = r"(?P<graph_id>[A-Za-z0-9_.-]{1,64})"

urlpatterns: list[URLPattern] = [
    path("", views.wall, name="wall"),
    path("cards", views.wall_cards, name="cards"),
    path("display", views.wall_display, name="wall_display"),
    path("announce", views.announce_changes, name="announce"),
    path("alerts/", views.alerts_page, name="alerts"),
    path("alerts/recent", views.alerts_recent, name="alerts_recent"),
    path("api/presence", views.presence_snapshot, name="snapshot"),
    path("me/status/", views.my_status, name="my_status"),
    re_path(rf"^{PERSON}/$", views.person_page, name="person"),
    re_path(rf"^{PERSON}/favourite$", views.favourite, name="favourite"),
    re_path(rf"^{PERSON}/alert$", views.availability_alert, name="alert"),
]
