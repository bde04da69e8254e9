"""Routes of the admin page."""

from __future__ import annotations

from django.urls import URLPattern, path

from accounts import admin_views

urlpatterns: list[URLPattern] = [
    path("", admin_views.admin_portal, name="admin_portal"),
    path("grant-consent", admin_views.grant_consent, name="admin_grant_consent"),
    path("consent-done", admin_views.consent_done, name="admin_consent_done"),
]
