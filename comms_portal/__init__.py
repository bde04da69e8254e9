"""Comms Portal: the Django project (settings, routing, the Celery app, the Graph client)."""
