from django.apps import AppConfig


class CommsPortalConfig(AppConfig):
    name = "comms_portal"

    def ready(self) -> None:
        # Load the Celery app with Django, so `.delay()` from views uses the portal's broker,
        # while `comms_portal.graph` stays importable without Celery or Django.
        from comms_portal import celery  # noqa: F401
