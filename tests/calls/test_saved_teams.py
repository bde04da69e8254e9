"""Saved teams on their own pages: admins list, create, rename and change them (a hand-picked
list, a department, one person); the menu keys leading to a team follow it; a team in use is
deleted only after the admin has been shown which keys lead to it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from calls import services, team_choices
from calls.models import MenuOption, ReceptionLine, Team
from tests.calls.support import user_id
from tests.calls.test_incident import admin_client
from tests.calls.test_reception_flow import AIKO, GRACE, LENA, SAMUEL, person
from tests.calls.test_teams import ON_CALL, on_call_department

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin() -> Client:
    return admin_client()


def support_key(*people_upns: str) -> tuple[Team, MenuOption]:
    """Key 1 of the menu leads to the saved team Support."""
    team = team_choices.save_team(name="Support", people=[person(u) for u in people_upns])
    option = team_choices.save_menu_option(
        line=services.the_line(),
        digit="1",
        label="Front desk",
        choice=team_choices.TeamChoice(kind="list", team=team),
    )
    return team, option


def routed_to(option: MenuOption) -> set[str]:
    """Whom routing reads for a key (its in-memory team, told of every change)."""
    fresh = MenuOption.objects.get(pk=option.pk)
    return {member.graph_id for member in services.team_of(fresh)}


def ids(*upns: str) -> str:
    """Return people's ids as the people picker sends them (each in the directory)."""
    return ",".join(person(upn).graph_id for upn in upns)


def test_the_list_says_what_each_team_is_and_which_keys_lead_to_it(admin: Client) -> None:
    support_key(GRACE, SAMUEL)
    on_call_department()
    team_choices.edit_team(team=None, name="Responders", kind="department", department=ON_CALL)

    page = admin.get(reverse("calls:teams")).content.decode()

    support = page[page.index('data-team="Support"') :].split("</tr>")[0]
    assert "A hand-picked list" in support and "Grace Whitfield, Samuel Ortega" in support
    assert "Key 1 (Front desk)" in support
    responders = page[page.index('data-team="Responders"') :].split("</tr>")[0]
    assert "A department" in responders and f"the {ON_CALL} department" in responders
    assert "Not used" in responders


def test_renaming_a_team_and_changing_its_people_changes_where_its_key_leads(
    admin: Client,
) -> None:
    team, option = support_key(GRACE, SAMUEL)
    assert routed_to(option) == {user_id(GRACE), user_id(SAMUEL)}
    edit = reverse("calls:team_edit", args=[team.pk])
    shown = admin.get(edit).content.decode()
    assert 'value="Support"' in shown and ids(GRACE, SAMUEL) in shown
    assert "key 1 (Front desk)" in shown

    answer = admin.post(edit, {"name": "Second line", "kind": "list", "people": ids(AIKO, LENA)})

    assert answer.status_code == 302 and answer["Location"] == reverse("calls:teams")
    team.refresh_from_db()
    assert team.name == "Second line"
    assert {p.graph_id for p in team.members.all()} == {user_id(AIKO), user_id(LENA)}
    assert routed_to(option) == {user_id(AIKO), user_id(LENA)}
    listed = admin.get(reverse("calls:reception")).content.decode()
    assert "the team Second line: Aiko Tanaka, Lena Brandt" in listed


def test_a_team_made_a_department_or_a_person_takes_its_key_along(admin: Client) -> None:
    team, option = support_key(GRACE)
    department = on_call_department()
    edit = reverse("calls:team_edit", args=[team.pk])

    admin.post(edit, {"name": "Support", "kind": "department", "department": ON_CALL})

    assert routed_to(option) == {p.graph_id for p in department}
    option.refresh_from_db()
    assert (option.kind, option.department, option.team_id) == ("department", ON_CALL, team.pk)

    admin.post(edit, {"name": "Support", "kind": "person", "people": ids(LENA)})

    assert routed_to(option) == {user_id(LENA)}
    team.refresh_from_db()
    assert team.kind == "person" and team.person == person(LENA)
    assert not team.members.exists()


def test_a_call_out_to_a_saved_department_calls_the_department(admin: Client) -> None:
    department = on_call_department()
    team = team_choices.edit_team(
        team=None, name="Responders", kind="department", department=ON_CALL
    )

    choice = team_choices.choose_team(kind="list", team=team)

    assert {p.graph_id for p in team_choices.members(choice)} == {p.graph_id for p in department}
    assert choice.label == "the team Responders"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "Support", "kind": "list", "people": ""}, "Pick at least one person."),
        ({"name": "Support", "kind": "department", "department": ""}, "Choose a department."),
        ({"name": "Support", "kind": "person", "people": "GRACE,LENA"}, "Choose exactly one"),
        ({"name": "night desk", "kind": "list", "people": "GRACE"}, "Another team is named"),
        ({"name": "", "kind": "list", "people": "GRACE"}, "This field is required."),
    ],
    ids=["list-nobody", "no-department", "two-people", "name-taken", "no-name"],
)
def test_a_team_that_would_not_work_is_refused_and_kept_as_it_was(
    admin: Client, fields: dict[str, str], error: str
) -> None:
    team, option = support_key(GRACE)
    team_choices.save_team(name="Night desk", people=[person(SAMUEL)])
    on_call_department()
    named = {"GRACE": ids(GRACE), "LENA": ids(LENA)}
    sent = {
        key: ",".join(named.get(v, v) for v in value.split(",")) for key, value in fields.items()
    }

    answer = admin.post(reverse("calls:team_edit", args=[team.pk]), sent)

    assert answer.status_code == 400
    page = answer.content.decode()
    assert error in page and 'role="alert"' in page
    team.refresh_from_db()
    assert team.name == "Support" and team.kind == "list"
    assert routed_to(option) == {user_id(GRACE)}


def test_a_new_team_is_offered_on_the_menu_and_call_out_forms(admin: Client) -> None:
    answer = admin.post(
        reverse("calls:team_new"), {"name": "Weekend", "kind": "list", "people": ids(AIKO)}
    )

    assert answer.status_code == 302
    team = Team.objects.get(name="Weekend")
    option = f'<option value="{team.pk}">Weekend</option>'
    assert option in admin.get(reverse("calls:reception")).content.decode()
    assert option in admin.get(reverse("calls:incidents")).content.decode()


def test_a_team_in_use_is_deleted_only_once_its_keys_were_shown(admin: Client) -> None:
    team, option = support_key(GRACE, SAMUEL)
    delete = reverse("calls:delete_team", args=[team.pk])

    asked = admin.post(delete)

    assert asked.status_code == 302 and asked["Location"] == delete
    assert Team.objects.filter(pk=team.pk).exists()
    page = admin.get(delete).content.decode()
    assert "Key 1: Front desk" in page and "Grace Whitfield, Samuel Ortega" in page
    assert "not deleted: the reception menu uses it" in page

    done = admin.post(delete, {"confirm": "yes"}, follow=True)

    assert not Team.objects.filter(pk=team.pk).exists()
    assert "Menu key(s) 1 keep leading where it did" in done.content.decode()
    # The key still rings the people it did.
    assert routed_to(option) == {user_id(GRACE), user_id(SAMUEL)}


def test_a_team_nothing_uses_is_deleted_at_once(admin: Client) -> None:
    ReceptionLine.objects.create()
    team = team_choices.save_team(name="Spare", people=[person(AIKO)])

    answer = admin.post(reverse("calls:delete_team", args=[team.pk]))

    assert answer.status_code == 302 and answer["Location"] == reverse("calls:teams")
    assert not Team.objects.exists()


def test_people_who_are_not_admins_reach_no_team_page() -> None:
    team = team_choices.save_team(name="Spare", people=[person(AIKO)])
    employee = Client()
    employee.force_login(User.objects.create(username="lena", display_name="Lena Brandt"))

    for url in (
        reverse("calls:teams"),
        reverse("calls:team_new"),
        reverse("calls:team_edit", args=[team.pk]),
    ):
        assert employee.get(url).status_code == 403
    assert employee.post(reverse("calls:delete_team", args=[team.pk])).status_code == 403
    assert Team.objects.filter(pk=team.pk).exists()
