from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: these load models, which need a ready registry.
        from events import handlers, tenant_events
        from events.topics import register_topics

        handlers.register()
        tenant_events.register()
        register_topics()
