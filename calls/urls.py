"""Routes of the calls pages (mounted at /calls/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from calls import views

app_name = "calls"

urlpatterns: list[URLPattern] = [
    path("", views.board, name="board"),
    path("board/rows", views.board_rows, name="board_rows"),
    path("reception/", views.reception, name="reception"),
    path("reception/options/<int:pk>/delete", views.delete_option, name="delete_option"),
    path("teams/", views.teams, name="teams"),
    path("teams/new", views.team_edit, name="team_new"),
    path("teams/<int:pk>/", views.team_edit, name="team_edit"),
    path("teams/<int:pk>/delete", views.delete_team, name="delete_team"),
    path("prompts/<slug:slot>.wav", views.prompt, name="prompt"),
    path("spoken/<slug:token>.wav", views.spoken_message, name="spoken_message"),
    path("delegates/", views.my_delegates, name="my_delegates"),
    path("incidents/", views.incidents, name="incidents"),
    path("incidents/<int:pk>/", views.incident, name="incident"),
    path("incidents/<int:pk>/live", views.incident_live, name="incident_live"),
    path("<int:pk>/", views.call_page, name="call"),
    path("<int:pk>/live", views.call_live, name="call_live"),
    path("<int:pk>/hang-up", views.hang_up, name="hang_up"),
    path("<int:pk>/invite", views.invite, name="invite"),
    path("<int:pk>/participants/<int:participant>/mute", views.mute, name="mute"),
    path("<int:pk>/participants/<int:participant>/remove", views.remove, name="remove"),
]
