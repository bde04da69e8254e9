from django.apps import AppConfig

from presence.topics import register_topics


class PresenceConfig(AppConfig):
    name = "presence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        register_topics()
