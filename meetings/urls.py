"""Routes of the meetings pages (mounted at /meetings/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from meetings import views

app_name = "meetings"

urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("new/", views.new, name="new"),
    path("lookup/", views.lookup, name="lookup"),
    path("meet-now/", views.meet_now, name="meet_now"),
    path("<int:meeting_id>/", views.detail, name="detail"),
    path("<int:meeting_id>/roster", views.roster, name="roster"),
    path("<int:meeting_id>/edit/", views.edit, name="edit"),
    path("<int:meeting_id>/delete/", views.delete, name="delete"),
    path("<int:meeting_id>/meeting.ics", views.ics, name="ics"),
    path("<int:meeting_id>/attendance/", views.attendance, name="attendance"),
    path(
        "<int:meeting_id>/attendance/<int:report_id>.csv",
        views.attendance_csv,
        name="attendance_csv",
    ),
]
