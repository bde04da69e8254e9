"""The people directory, synced from Graph, and where its sync stands."""

from __future__ import annotations

from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Lower

# Longest search text the directory accepts; names and addresses are shorter than this.
MAX_SEARCH_LENGTH = 100
# At most this many words of a search are matched; more only slow the query down.
MAX_SEARCH_WORDS = 6


def search_words(text: str) -> list[str]:
    """Split search text into the words every match must contain."""
    return text.split()[:MAX_SEARCH_WORDS]


class PersonQuerySet(models.QuerySet["Person"]):
    """Reads of the directory, chainable."""

    def visible(self) -> PersonQuerySet:
        """People shown to colleagues: present in the directory, enabled, not hidden by rule."""
        return self.filter(removed_at__isnull=True, is_hidden=False, account_enabled=True)

    def in_department(self, department: str) -> PersonQuerySet:
        """People of one department."""
        return self.filter(department=department)

    def with_graph_id(self, graph_id: str) -> PersonQuerySet:
        """The person with this Entra object id (none or one)."""
        return self.filter(graph_id=graph_id)

    def manager_of(self, person: Person) -> PersonQuerySet:
        """The manager of ``person`` (none or one)."""
        if person.manager_id is None:
            return self.none()
        return self.filter(pk=person.manager_id)

    def reports_of(self, person: Person) -> PersonQuerySet:
        """The people whose manager is ``person``."""
        return self.filter(manager_id=person.pk)


class Person(models.Model):
    """Someone in the organisation's directory, whether or not they ever sign in."""

    graph_id = models.CharField(max_length=64, unique=True)  # the Entra object id
    user_principal_name = models.CharField(max_length=256, db_index=True)
    display_name = models.CharField(max_length=256, db_index=True)
    given_name = models.CharField(max_length=128, blank=True)
    surname = models.CharField(max_length=128, blank=True)
    mail = models.CharField(max_length=256, blank=True)
    job_title = models.CharField(max_length=256, blank=True)
    department = models.CharField(max_length=256, blank=True, db_index=True)
    office_location = models.CharField(max_length=256, blank=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    account_enabled = models.BooleanField(default=True)
    # Service accounts, rooms and the like, hidden from colleagues by the directory rules.
    is_hidden = models.BooleanField(default=False)
    # Set when the directory reports the person removed; kept for history, never shown.
    removed_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)
    # Everything a search looks in, lower-cased and space-separated, kept by the database
    # itself (so bulk writes keep it too); PostgreSQL indexes it for trigram searches.
    search_text = models.GeneratedField(
        expression=Lower(
            Concat(
                "display_name",
                Value(" "),
                "job_title",
                Value(" "),
                "department",
                Value(" "),
                "user_principal_name",
                Value(" "),
                "mail",
                output_field=models.TextField(),
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["display_name"]
        indexes = [
            # Named as when the model lived in the presence app, so the index carries over.
            models.Index(
                fields=["removed_at", "is_hidden", "display_name"],
                name="presence_pe_removed_549af0_idx",
            )
        ]

    def __str__(self) -> str:
        return self.display_name


class DirectorySync(models.Model):
    """Where directory sync stands: the deltaLink to resume from and how the last run went."""

    name = models.CharField(max_length=64, unique=True, default="users")
    delta_link = models.TextField(blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0)
    full_runs = models.PositiveIntegerField(default=0)
    last_changed = models.PositiveIntegerField(default=0)
    last_removed = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"directory sync {self.name}"
