"""Sign-in routes."""

from __future__ import annotations

from django.urls import URLPattern, path

from accounts import time_zone_views, views

app_name = "accounts"

urlpatterns: list[URLPattern] = [
    path("signin/", views.sign_in, name="signin"),
    path("consent/", views.consent, name="consent"),
    path("callback", views.callback, name="callback"),
    path("signout/", views.sign_out, name="signout"),
    path("time-zone/", time_zone_views.time_zone, name="time_zone"),
]
