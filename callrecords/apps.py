from django.apps import AppConfig


class CallRecordsConfig(AppConfig):
    name = "callrecords"
    verbose_name = "Call records"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: the handlers load models, which need a ready registry.
        from callrecords import handlers

        handlers.register()
