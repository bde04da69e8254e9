"""People who sign in with Microsoft, and their encrypted token caches."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    """A person of an Entra tenant, identified by (tenant id, object id), never by e-mail."""

    tenant_id = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    display_name = models.CharField(max_length=256, blank=True)
    # From the app role Portal.Admin in the id_token at each sign-in; not a Django superuser.
    is_portal_admin = models.BooleanField(default=False)
    # Set when the refresh token is dead; cleared by the next successful sign-in.
    needs_reauth = models.BooleanField(default=False)
    needs_reauth_reason = models.CharField(max_length=500, blank=True)
    # Delegated scopes the person has consented to, space-separated, as the authority said.
    granted_scopes = models.TextField(blank=True)
    # IANA zone every time is shown in; blank until the person's browser says it (first visit).
    # The database default lets code of the previous release add people during an upgrade.
    time_zone = models.CharField(max_length=64, blank=True, default="", db_default="")

    def has_scopes(self, scopes: list[str]) -> bool:
        """Tell whether the person has consented to every one of ``scopes``."""
        granted = {scope.lower() for scope in self.granted_scopes.split()}
        return all(scope.lower() in granted for scope in scopes)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "object_id"],
                condition=~Q(object_id=""),
                name="unique_entra_identity",
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.get_username()


class TokenCache(models.Model):
    """One MSAL token cache, encrypted at rest: a person's, or the app's own (user is null)."""

    key = models.CharField(max_length=100, unique=True)
    user = models.OneToOneField(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="token_cache"
    )
    ciphertext = models.BinaryField()
    # Bumped at every save, so a writer holding an older copy can tell it is stale.
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key


class SignedInSession(models.Model):
    """A session a person signed in with, so that every one of them can be ended at once.

    Django's sessions cannot be searched by person (the user id is inside the encoded data),
    so each sign-in is noted here. A table rather than a Redis set: the record must last as
    long as the sessions it finds, which live in the database; a set lost with a Redis restart
    would leave a leaver's sessions working.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="signed_in_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    signed_in_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"session of user {self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}"
