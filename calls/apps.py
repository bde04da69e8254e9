from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: these load models, which need a ready registry.
        from calls import handlers, topics

        # The bot's callbacks ride the notification pipeline; the board is a live topic.
        handlers.register()
        topics.register_topics()
