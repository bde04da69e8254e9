from django.apps import AppConfig


class PresenceConfig(AppConfig):
    name = "presence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Presence's kind of change notifications, declared once the apps are loaded.
        from presence import handlers

        handlers.register()
