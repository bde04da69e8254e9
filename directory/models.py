"""The people directory, synced from Graph, and where its sync stands."""

from __future__ import annotations

from django.db import models
from django.db.models import Case, IntegerField, Q, Value, When

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

    def matching(self, text: str) -> PersonQuerySet:
        """People whose name, e-mail, title or department contains ``text``."""
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(display_name__icontains=text)
            | Q(user_principal_name__icontains=text)
            | Q(job_title__icontains=text)
            | Q(department__icontains=text)
        )

    def search(self, text: str) -> PersonQuerySet:
        """People matching every word of ``text``, best matches first.

        Names starting with the text come first, then names with a word starting with it,
        then sign-in names or e-mail addresses starting with it, then any other match (in
        a name, address, job title or department); by name within each.
        """
        words = search_words(text)
        if not words:
            return self.none()
        people = self
        for word in words:
            people = people.filter(
                Q(display_name__icontains=word)
                | Q(user_principal_name__icontains=word)
                | Q(mail__icontains=word)
                | Q(job_title__icontains=word)
                | Q(department__icontains=word)
            )
        phrase = " ".join(words)
        rank = Case(
            When(display_name__istartswith=phrase, then=Value(0)),
            When(
                Q(display_name__icontains=f" {phrase}") | Q(display_name__icontains=f"-{phrase}"),
                then=Value(1),
            ),
            When(
                Q(user_principal_name__istartswith=phrase) | Q(mail__istartswith=phrase),
                then=Value(2),
            ),
            default=Value(3),
            output_field=IntegerField(),
        )
        return people.annotate(search_rank=rank).order_by("search_rank", "display_name", "pk")


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
