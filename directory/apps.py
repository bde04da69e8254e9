from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    label = "directory"
    verbose_name = "People directory"
    default_auto_field = "django.db.models.BigAutoField"
