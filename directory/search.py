"""How the people search matches: exact words first, and close matches when nothing is exact.

A person matches exactly when every word of the search is in their name, job title,
department, sign-in name or e-mail address (``Person.search_text``). When no one does, the
search looks for close matches, tolerating a typo per word ("Natarjan" finds Natarajan):
on PostgreSQL with pg_trgm through its word similarity and trigram index; elsewhere (SQLite,
or a PostgreSQL without the extension) by counting the word's trigrams in SQL to keep a few
hundred candidates, then scoring those in Python.
"""

from __future__ import annotations

import math
import re
from difflib import SequenceMatcher
from functools import cache

from django.db import connections, transaction
from django.db.models import (
    BooleanField,
    Case,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    Value,
    When,
)

from directory.models import Person, PersonQuerySet, search_words

# Shorter words match too many people by accident to be worth correcting.
MIN_CLOSE_LENGTH = 4
# Close matches kept at most: past the first few, they are rarely the person meant.
MAX_CLOSE = 50
# Candidates the fallback scores in Python, those sharing the most trigrams first.
MAX_CANDIDATES = 400
# Share of a word's trigrams a candidate's text must contain to be scored at all.
TRIGRAM_SHARE = 0.5
# pg_trgm: how alike a word and a stretch of the text must be. Its default, 0.6, misses a
# single dropped letter in a long name ("Natarjan" is 0.58 of "Natarajan").
WORD_SIMILARITY = 0.45
# Fallback: how alike a word and a word of the person's text must be (difflib's ratio).
CLOSE_RATIO = 0.75
_TOKEN = re.compile(r"[\w']+")


def contains(word: str) -> Q:
    """Match people whose searchable text contains ``word``."""
    # search_text is lower-cased by the database. PostgreSQL folds every letter, and a
    # case-sensitive LIKE can use the trigram index; SQLite folds only ASCII, so there the
    # comparison stays case-insensitive as LIKE is, and "Ö" still finds "Ö".
    if connections["default"].vendor == "postgresql":
        return Q(search_text__contains=word.lower())
    return Q(search_text__icontains=word)


def exact(people: PersonQuerySet, text: str) -> PersonQuerySet:
    """Return the people matching every word of ``text``, best first.

    Names starting with the text come first, then names with a word starting with it,
    then sign-in names or e-mail addresses starting with it, then any other match (in a
    name, address, job title or department); by name within each.
    """
    words = search_words(text)
    if not words:
        return people.none()
    for word in words:
        people = people.filter(contains(word))
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


def close_matches(people: PersonQuerySet, text: str) -> list[int]:
    """Return the ids of people who match ``text`` allowing typos, best first."""
    words = search_words(text)
    if not any(len(word) >= MIN_CLOSE_LENGTH for word in words):
        return []
    if trigram_extension_installed():
        return _close_by_trigram_index(people, words)
    return _close_by_fallback(people, words)


@cache
def _extension_in(alias: str, database: str) -> bool:
    # The database name is part of the key: tests switch to a database of their own.
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


def trigram_extension_installed(alias: str = "default") -> bool:
    """Tell whether the database is PostgreSQL with pg_trgm (checked once per database)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return False
    return _extension_in(alias, str(connection.settings_dict["NAME"]))


def forget_extension_check() -> None:
    """Check again for pg_trgm at the next search (after installing or dropping it)."""
    _extension_in.cache_clear()


class _WordSimilarity(Func):
    # https://www.postgresql.org/docs/current/pgtrgm.html: the greatest similarity between
    # the word's trigrams and those of any stretch of the text.
    function = "word_similarity"
    output_field = FloatField()


class _HasSimilarWord(Func):
    # ``word <% text``: word_similarity at least pg_trgm.word_similarity_threshold; the
    # operator, unlike the function, can use the GIN trigram index. "%%" is a literal %.
    template = "(%(expressions)s)"
    arg_joiner = " <%% "
    output_field = BooleanField()


def _close_by_trigram_index(people: PersonQuerySet, words: list[str]) -> list[int]:
    long_words = [word.lower() for word in words if len(word) >= MIN_CLOSE_LENGTH]
    # First the candidates, by the trigram index alone: its operator is costly per row
    # (about 10 µs on a directory entry), which the planner does not know, so on its own it
    # would scan the whole table. Both settings last only for this transaction.
    candidates = Person.objects.all()
    for word in long_words:
        candidates = candidates.filter(_HasSimilarWord(Value(word), F("search_text")))
    with transaction.atomic(using=people.db), connections[people.db].cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true), "
            "set_config('enable_seqscan', 'off', true)",
            [str(WORD_SIMILARITY)],
        )
        found = candidates.using(people.db).order_by().values_list("pk", flat=True)
        ids = list(found[:MAX_CANDIDATES])
    if not ids:
        return []
    # Then the rest of the search's conditions and the ranking, on those few people.
    people = people.filter(pk__in=ids)
    for word in words:
        if len(word) < MIN_CLOSE_LENGTH:
            people = people.filter(contains(word))
    scores = [_WordSimilarity(Value(word), F("search_text")) for word in long_words]
    score = sum(scores[1:], start=scores[0])
    ranked = people.annotate(close_score=score).order_by("-close_score", "display_name", "pk")
    return list(ranked.values_list("pk", flat=True)[:MAX_CLOSE])


def trigrams(word: str) -> set[str]:
    """Return the three-letter pieces of ``word`` (lower-cased)."""
    lowered = word.lower()
    return {lowered[i : i + 3] for i in range(len(lowered) - 2)}


def similarity(word: str, text: str) -> float:
    """Return how alike ``word`` is to the most alike words (or word starts) of ``text``, 0 to 1.

    A word with punctuation ("priya.natarjan") is as alike as its least alike part.
    """
    tokens = _TOKEN.findall(text.lower())
    parts = _TOKEN.findall(word.lower())
    if not parts or not tokens:
        return 0.0
    return min(_best_token_match(part, tokens) for part in parts)


def _best_token_match(part: str, tokens: list[str]) -> float:
    best = 0.0
    for token in tokens:
        if part in token:
            return 1.0
        # A word being typed is compared with the start of each word too ("natarj").
        for piece in (token, token[: len(part)], token[: len(part) + 1]):
            best = max(best, SequenceMatcher(None, part, piece).ratio())
    return best


def _close_by_fallback(people: PersonQuerySet, words: list[str]) -> list[int]:
    shared: list[str] = []
    for number, word in enumerate(words):
        pieces = trigrams(word)
        if len(word) < MIN_CLOSE_LENGTH:
            people = people.filter(contains(word))
            continue
        name = f"trigrams_{number}"
        hits = [Case(When(contains(piece), then=Value(1)), default=Value(0)) for piece in pieces]
        people = people.alias(**{name: sum(hits[1:], start=hits[0])})
        needed = max(1, math.ceil(len(pieces) * TRIGRAM_SHARE))
        people = people.filter(contains(word) | Q(**{f"{name}__gte": needed}))
        shared.append(name)
    total_shared = sum((F(name) for name in shared[1:]), start=F(shared[0]))
    candidates = list(
        people.annotate(shared_trigrams=total_shared)
        .order_by("-shared_trigrams", "display_name", "pk")
        .values_list("pk", "display_name", "search_text")[:MAX_CANDIDATES]
    )
    scored: list[tuple[float, str, int]] = []
    for pk, display_name, text in candidates:
        total = 0.0
        for word in words:
            alike = similarity(word, text)
            if alike < (1.0 if len(word) < MIN_CLOSE_LENGTH else CLOSE_RATIO):
                break
            total += alike
        else:
            scored.append((-total, display_name, pk))
    scored.sort()
    return [pk for _, _, pk in scored[:MAX_CLOSE]]
