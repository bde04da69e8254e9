from django.apps import AppConfig

from directory.signals import people_removed


class PresenceConfig(AppConfig):
    name = "presence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: these load models, which need a ready registry.
        from presence import handlers
        from presence.services import forget_removed_people
        from presence.topics import register_topics

        people_removed.connect(forget_removed_people, dispatch_uid="presence-forget-removed")
        # Presence's kind of change notifications, and its live topic.
        handlers.register()
        register_topics()
