"""Comms Portal: the Django project (settings, routing, the Celery app, the Graph client)."""

from comms_portal.celery import app as celery_app

__all__ = ["celery_app"]
