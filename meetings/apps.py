from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "meetings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: these load models, which need a ready registry.
        from meetings import handlers
        from meetings.topics import register_topics

        # Meetings' kind of change notifications (call events), and its live topic.
        handlers.register()
        register_topics()
