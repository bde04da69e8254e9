from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: these load models, which need a ready registry.
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from calls import handlers, teams, topics
        from calls.models import MenuOption, ReceptionLine
        from directory.models import Person

        # The bot's callbacks ride the notification pipeline; the board is a live topic.
        handlers.register()
        topics.register_topics()
        # Routing keeps the line and its teams in memory; a change makes them read again.
        m2m_changed.connect(teams.changed, sender=MenuOption.members.through)
        for model in (Person, MenuOption, ReceptionLine):
            post_save.connect(teams.changed, sender=model)
            post_delete.connect(teams.changed, sender=model)
