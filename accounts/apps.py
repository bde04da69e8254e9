from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in, user_logged_out

from directory.signals import people_disabled, people_enabled, people_removed


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: these load models, which need a ready registry.
        from accounts.leavers import keep_out, let_back_in
        from accounts.sessions import end_session, start_session

        user_logged_in.connect(start_session, dispatch_uid="accounts-start-session")
        user_logged_out.connect(end_session, dispatch_uid="accounts-end-session")
        people_removed.connect(keep_out, dispatch_uid="accounts-keep-out-removed")
        people_disabled.connect(keep_out, dispatch_uid="accounts-keep-out-disabled")
        people_enabled.connect(let_back_in, dispatch_uid="accounts-let-back-in")
