"""Routes of the events pages (mounted at /events/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from events import views

app_name = "events"

urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("<int:event_id>/", views.detail, name="detail"),
    path("<int:event_id>/register", views.register, name="register"),
    path("<int:event_id>/cancel-registration", views.cancel_mine, name="cancel_mine"),
    path("<int:event_id>/event.ics", views.ics, name="ics"),
    path("console/", views.console, name="console"),
    path("console/new/", views.create, name="create"),
    path("console/teams-import", views.teams_import_status, name="teams_import"),
    path("console/<int:event_id>/", views.manage, name="manage"),
    path("console/<int:event_id>/edit/", views.edit, name="edit"),
    path("console/<int:event_id>/preview/", views.preview, name="preview"),
    path("console/<int:event_id>/publish", views.publish, name="publish"),
    path("console/<int:event_id>/cancel/", views.cancel, name="cancel"),
    path("console/<int:event_id>/registrations", views.registration_rows, name="registration_rows"),
    path(
        "console/<int:event_id>/registrations.csv",
        views.registrations_csv,
        name="registrations_csv",
    ),
    path(
        "console/<int:event_id>/registrations/<int:registration_id>/cancel",
        views.cancel_registration,
        name="cancel_registration",
    ),
    path("console/<int:event_id>/attendance/", views.attendance, name="attendance"),
    path("console/<int:event_id>/attendance.csv", views.attendance_csv, name="attendance_csv"),
]
