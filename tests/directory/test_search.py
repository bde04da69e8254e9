"""The people picker's search: who it finds, in what order, and how it refuses bad input."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from accounts.models import User
from directory.models import Person
from directory.search import forget_extension_check, similarity, trigram_extension_installed
from directory.selectors import search_people, search_ranking

pytestmark = pytest.mark.django_db

SEARCH = "/directory/people/search"


@dataclass(frozen=True)
class Cast:
    """The people these tests search for, and who searches."""

    viewer: User
    ada: Person


def make_person(number: int, name: str, upn: str, **fields: Any) -> Person:
    return Person.objects.create(
        graph_id=f"5ea4c400-0000-4000-8000-{number:012d}",
        display_name=name,
        user_principal_name=upn,
        **fields,
    )


@pytest.fixture
def cast(django_user_model: type[User]) -> Cast:
    ada = make_person(
        1,
        "Ada Lovelace",
        "ada.lovelace@picker.example",
        mail="ada@picker.example",
        job_title="Engineer",
        department="Platform",
    )
    make_person(2, "Adam Smith", "adam.smith@picker.example", department="Finance")
    make_person(3, "Grace Adams", "grace.adams@picker.example", job_title="Architect")
    make_person(4, "Zoe Quinn", "adamant.zq@picker.example", job_title="Designer")
    make_person(5, "Boris Kay", "boris.kay@picker.example", job_title="Liaison, Canada")
    make_person(6, "Tadas Ivanauskas", "tadas.ivanauskas@picker.example")
    # Never found: hidden by a rule, gone from the directory, or switched off.
    make_person(7, "Room - Adair", "room.adair@picker.example", is_hidden=True)
    make_person(
        8, "Ada Gone", "ada.gone@picker.example", removed_at=datetime(2026, 1, 5, tzinfo=UTC)
    )
    make_person(9, "Adaline Off", "adaline.off@picker.example", account_enabled=False)
    viewer = django_user_model.objects.create(username="viewer", display_name="Viewer")
    return Cast(viewer=viewer, ada=ada)


def search(client: Client, cast: Cast, **params: str) -> dict[str, Any]:
    client.force_login(cast.viewer)
    response = client.get(SEARCH, params)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def names(body: dict[str, Any]) -> list[str]:
    return [result["name"] for result in body["results"]]


@pytest.mark.parametrize("text", ["ada", "ADA", "  Ada "])
def test_names_starting_with_the_text_come_first_then_word_starts_then_addresses(
    client: Client, cast: Cast, text: str
) -> None:
    body = search(client, cast, q=text)
    assert names(body) == [
        "Ada Lovelace",  # name starts with it
        "Adam Smith",
        "Grace Adams",  # a word of the name starts with it
        "Zoe Quinn",  # the sign-in address starts with it
        "Boris Kay",  # anything else: here the job title
        "Tadas Ivanauskas",  # ... and here the middle of a name
    ]
    assert body["count"] == 6


def test_hidden_removed_and_disabled_people_are_never_found(client: Client, cast: Cast) -> None:
    for text in ("adair", "ada gone", "adaline", "picker.example"):
        found = names(search(client, cast, q=text))
        assert not {"Room - Adair", "Ada Gone", "Adaline Off"} & set(found), text


def test_each_result_carries_what_the_picker_shows(client: Client, cast: Cast) -> None:
    body = search(client, cast, q="lovelace")
    assert body == {
        "results": [
            {
                "id": cast.ada.graph_id,
                "name": "Ada Lovelace",
                "jobTitle": "Engineer",
                "department": "Platform",
                "mail": "ada@picker.example",
                "photoUrl": f"/directory/people/{cast.ada.graph_id}/photo",
            }
        ],
        "count": 1,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ada@picker.example", ["Ada Lovelace"]),  # e-mail address
        ("ada.lovelace@picker", ["Ada Lovelace"]),  # sign-in name
        ("architect", ["Grace Adams"]),  # job title
        ("finance", ["Adam Smith"]),  # department
        ("lovelace ada", ["Ada Lovelace"]),  # every word, in any order
        ("ada finance", ["Adam Smith"]),
        ("%", []),  # a LIKE wildcard is only a character
        ("nobody", []),
    ],
)
def test_text_matches_addresses_titles_and_departments(
    client: Client, cast: Cast, text: str, expected: list[str]
) -> None:
    body = search(client, cast, q=text)
    assert names(body) == expected
    assert body["count"] == len(expected)


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}])
def test_no_text_finds_no_one(client: Client, cast: Cast, params: dict[str, str]) -> None:
    assert search(client, cast, **params) == {"results": [], "count": 0}


def test_limit_cuts_the_list_but_count_says_how_many_match(client: Client, cast: Cast) -> None:
    body = search(client, cast, q="ada", limit="2")
    assert names(body) == ["Ada Lovelace", "Adam Smith"]
    assert body["count"] == 6


def test_ten_people_by_default_and_at_most_twenty_five(client: Client, cast: Cast) -> None:
    for number in range(30):
        make_person(100 + number, f"Crowd {number:02d}", f"crowd{number:02d}@picker.example")
    default = search(client, cast, q="crowd")
    assert names(default) == [f"Crowd {n:02d}" for n in range(10)]
    assert default["count"] == 30
    # An empty limit is no limit given.
    assert len(search(client, cast, q="crowd", limit="")["results"]) == 10
    assert len(search(client, cast, q="crowd", limit="25")["results"]) == 25


@pytest.mark.parametrize("limit", ["0", "26", "-1", "ten", "2.5"])
def test_a_bad_limit_is_refused_with_a_clear_message(
    client: Client, cast: Cast, limit: str
) -> None:
    client.force_login(cast.viewer)
    response = client.get(SEARCH, {"q": "ada", "limit": limit})
    assert response.status_code == 400
    assert response.json() == {"error": "limit must be a whole number from 1 to 25."}


def test_overlong_text_is_refused_with_a_clear_message(client: Client, cast: Cast) -> None:
    client.force_login(cast.viewer)
    response = client.get(SEARCH, {"q": "a" * 101})
    assert response.status_code == 400
    assert response.json() == {"error": "q must be at most 100 characters (it has 101)."}


def test_signed_out_scripts_get_401_json_not_a_redirect(client: Client, cast: Cast) -> None:
    response = client.get(SEARCH, {"q": "ada"})
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "You are signed out; sign in first."}


def test_only_get_is_answered(client: Client, cast: Cast) -> None:
    client.force_login(cast.viewer)
    assert client.post(SEARCH, {"q": "ada"}).status_code == 405


def test_ten_thousand_people_are_searched_in_one_bounded_query(
    cast: Cast, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    Person.objects.bulk_create(
        [
            Person(
                graph_id=f"c0ffee00-0000-4000-8000-{number:012d}",
                display_name=f"Colleague {number:05d}",
                user_principal_name=f"colleague{number:05d}@picker.example",
                job_title="Specialist",
            )
            for number in range(10_000)
        ],
        batch_size=2000,
    )
    with django_assert_num_queries(1) as captured:
        found = search_people(text="colleague 0999", limit=25)
    # Names starting with the text first; "Colleague 00999" only contains it.
    assert [p.display_name for p in found.people] == [
        *(f"Colleague {n:05d}" for n in range(9990, 10_000)),
        "Colleague 00999",
    ]
    assert found.count == 11
    # The database ranks and cuts the list; no more than the page leaves it.
    assert "LIMIT 25" in captured.captured_queries[0]["sql"]


@pytest.fixture
def company(cast: Cast) -> Cast:
    """Add colleagues with the titles, departments and names the typo tests look for."""
    make_person(
        20,
        "Priya Natarajan",
        "priya.natarajan@picker.example",
        mail="priya.natarajan@picker.example",
        job_title="Head of Finance",
        department="Finance",
    )
    make_person(21, "Tomas Lindqvist", "tomas.lindqvist@picker.example", job_title="Accountant")
    make_person(22, "Samuel Ortega", "samuel.ortega@picker.example", department="Platform")
    return cast


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Natarjan", ["Priya Natarajan"]),  # a letter left out
        ("Natrajan", ["Priya Natarajan"]),  # another one
        ("priya natarjan", ["Priya Natarajan"]),  # one word right, one with a typo
        ("Lindkvist", ["Tomas Lindqvist"]),  # a letter changed
        ("accountnat", ["Tomas Lindqvist"]),  # in a job title
        ("Platfrom", ["Ada Lovelace", "Samuel Ortega"]),  # in a department
        ("samuel.ortgea", ["Samuel Ortega"]),  # in an e-mail address
    ],
)
def test_a_typo_still_finds_the_person_as_a_close_match(
    client: Client, company: Cast, text: str, expected: list[str]
) -> None:
    found = search_people(text=text, limit=10)
    assert [p.display_name for p in found.people] == expected
    assert found.count == len(expected)
    assert found.close
    # The picker gets them the same way.
    assert names(search(client, company, q=text)) == expected


def test_close_matches_are_only_looked_for_when_nothing_matches_exactly(company: Cast) -> None:
    # "Finance" is Priya's department and Adam's: the exact matches, and nothing more.
    found = search_people(text="finance", limit=10)
    assert [p.display_name for p in found.people] == ["Adam Smith", "Priya Natarajan"]
    assert not found.close
    # Short words are not corrected: three letters match too much by accident.
    assert search_people(text="adx", limit=10).count == 0
    assert search_people(text="zzzzzzzz", limit=10).count == 0


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("head of", "Priya Natarajan"),  # job title, two words
        ("head of finance", "Priya Natarajan"),
        ("priya.nat", "Priya Natarajan"),  # e-mail prefix
        ("samuel.ortega@picker", "Samuel Ortega"),
    ],
)
def test_titles_departments_and_addresses_match_exactly(
    company: Cast, text: str, first: str
) -> None:
    found = search_people(text=text, limit=10)
    assert [p.display_name for p in found.people] == [first]
    assert not found.close


def test_search_pages_through_exact_matches_with_the_same_total(company: Cast) -> None:
    everyone = search_people(text="ada", limit=25)
    assert everyone.count == 6
    second = search_people(text="ada", limit=4, offset=4)
    assert [p.display_name for p in second.people] == [p.display_name for p in everyone.people[4:]]
    assert second.count == 6
    past_the_end = search_people(text="ada", limit=4, offset=8)
    assert (past_the_end.people, past_the_end.count) == ([], 6)


def test_search_ranking_gives_every_match_in_the_order_of_the_search(company: Cast) -> None:
    ranked, close = search_ranking(text="ada")
    assert [Person.objects.get(pk=pk).display_name for pk in ranked] == names(
        {"results": [{"name": p.display_name} for p in search_people(text="ada", limit=25).people]}
    )
    assert not close
    ranked, close = search_ranking(text="Natarjan")
    assert [Person.objects.get(pk=pk).display_name for pk in ranked] == ["Priya Natarajan"]
    assert close


def test_similarity_compares_with_whole_words_and_word_starts() -> None:
    assert similarity("natarjan", "priya natarajan head of finance") > 0.9
    assert similarity("natarj", "priya natarajan") > 0.8  # still typing
    assert similarity("finance", "head of finance") == 1.0
    assert similarity("zebra", "priya natarajan") < 0.5


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is a PostgreSQL extension")
def test_postgresql_searches_with_pg_trgm_and_falls_back_without_it(company: Cast) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'directory_person_search_trgm'"
        )
        row = cursor.fetchone()
    assert row is not None and "gin_trgm_ops" in row[0]
    forget_extension_check()
    assert trigram_extension_installed()
    assert [p.display_name for p in search_people(text="Natarjan", limit=5).people] == [
        "Priya Natarajan"
    ]
    # A database without the extension (the test's transaction puts it back afterwards).
    with connection.cursor() as cursor:
        cursor.execute("DROP EXTENSION pg_trgm CASCADE")
    forget_extension_check()
    try:
        assert not trigram_extension_installed()
        found = search_people(text="Natarjan", limit=5)
        assert [p.display_name for p in found.people] == ["Priya Natarajan"]
        assert found.close
    finally:
        forget_extension_check()
