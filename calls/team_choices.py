"""Teams the reception menu and incident call-outs reach: a department, a saved team, a person.

A department is read from the directory when the team is used; a saved team is kept under a
name (``Team``): mostly a hand-picked list of people, or a department or a person under a
name of its own; a person is one person. The reception menu and the call-out form choose them
with the same form fields (``calls.forms.TeamForm``). A key leading to a saved team follows
what the team is; a list key keeps its own copy of its team's members, which routing reads.
Admins edit, rename and delete saved teams on their own pages; a team a menu key leads to is
deleted only once the admin has seen which keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from calls.models import MenuOption, ReceptionLine, Team
from directory.models import Person

Kind = MenuOption.Kind


@dataclass(frozen=True)
class TeamChoice:
    """A team as chosen on a form: its kind and what names it."""

    kind: str
    department: str = ""
    team: Team | None = None
    person: Person | None = None
    # People picked by hand and not saved under a name (a call-out's one-off list).
    picked: list[Person] = field(default_factory=list)

    @property
    def label(self) -> str:
        """Say in words which team this is."""
        if self.kind == Kind.DEPARTMENT:
            return f"the {self.department} department"
        if self.kind == Kind.PERSON:
            return self.person.display_name if self.person else "nobody"
        if self.team is not None:
            return f"the team {self.team.name}"
        return "people picked by hand"


def members(choice: TeamChoice) -> list[Person]:
    """Return the people of a team now, by name (a department as the directory has it)."""
    if choice.kind == Kind.DEPARTMENT:
        return list(
            Person.objects.visible().in_department(choice.department).order_by("display_name")
        )
    if choice.kind == Kind.PERSON:
        return [choice.person] if choice.person else []
    if choice.picked or choice.team is None:
        return list(choice.picked)
    return team_members(choice.team)


def team_members(team: Team) -> list[Person]:
    """Return the people a saved team stands for now, by name."""
    if team.kind == Kind.DEPARTMENT:
        return list(
            Person.objects.visible().in_department(team.department).order_by("display_name")
        )
    if team.kind == Kind.PERSON:
        return [team.person] if team.person else []
    return list(team.members.order_by("display_name"))


def save_team(*, name: str, people: list[Person]) -> Team:
    """Save hand-picked people under a name (replacing the members of a team of that name).

    The menu keys that lead to the team get its new members at once.
    """
    with transaction.atomic():
        team, _ = Team.objects.get_or_create(name=name)
        team.kind, team.department, team.person = Kind.LIST, "", None
        team.members.set(people)
        team.save(update_fields=["kind", "department", "person", "updated_at"])
        _follow(team)
    return team


def edit_team(
    *,
    team: Team | None,
    name: str,
    kind: str,
    department: str = "",
    people: list[Person] | None = None,
) -> Team:
    """Create or change a saved team: its name and what it is (a list, a department, a person).

    Every menu key leading to the team follows it at once; the call-outs already started
    keep whom they called.
    """
    people = people or []
    with transaction.atomic():
        team = team if team is not None else Team()
        team.name = name
        team.kind = kind
        team.department = department if kind == Kind.DEPARTMENT else ""
        team.person = people[0] if kind == Kind.PERSON and people else None
        team.save()
        team.members.set(people if kind == Kind.LIST else [])
        _follow(team)
    return team


def _follow(team: Team) -> None:
    """Make the menu keys leading to a saved team lead where it now does."""
    for option in team.options.all():
        option.kind = team.kind
        option.department = team.department
        option.person = team.person
        option.save(update_fields=["kind", "department", "person"])
        option.members.set(team_members(team) if team.kind == Kind.LIST else [])


def team_uses(team: Team) -> list[MenuOption]:
    """Return the menu keys leading to a saved team, by key."""
    return list(team.options.select_related("line").order_by("digit"))


def choose_team(
    *,
    kind: str,
    department: str = "",
    team: Team | None = None,
    people: list[Person] | None = None,
    team_name: str = "",
    save: bool = True,
) -> TeamChoice:
    """Turn what a team's form fields hold into a team.

    People picked by hand for a list are saved as a team when ``team_name`` is given (and
    ``save``); without a name they are a one-off list.
    """
    people = people or []
    if kind == Kind.DEPARTMENT:
        return TeamChoice(kind=kind, department=department)
    if kind == Kind.PERSON:
        return TeamChoice(kind=kind, person=people[0] if people else None)
    if people and team_name:
        if save:
            return TeamChoice(kind=kind, team=save_team(name=team_name, people=people))
        return TeamChoice(kind=kind, team=Team(name=team_name), picked=people)
    if people:
        return TeamChoice(kind=kind, picked=people)
    return TeamChoice(kind=kind, team=team)


def save_menu_option(
    *, line: ReceptionLine, digit: str, label: str, choice: TeamChoice
) -> MenuOption:
    """Make one key of the menu lead to a team."""
    if choice.kind == Kind.LIST and choice.team is not None and choice.team.pk is not None:
        # A key leading to a saved team leads where the team does (a department, a person).
        team = choice.team
        choice = TeamChoice(
            kind=team.kind, department=team.department, team=team, person=team.person
        )
    with transaction.atomic():
        option, _ = MenuOption.objects.update_or_create(
            line=line,
            digit=digit,
            defaults={
                "label": label,
                "kind": choice.kind,
                "department": choice.department if choice.kind == Kind.DEPARTMENT else "",
                "person": choice.person if choice.kind == Kind.PERSON else None,
                "team": choice.team,
            },
        )
        option.members.set(members(choice) if choice.kind == Kind.LIST else [])
    return option


def delete_team(*, team: Team) -> None:
    """Delete a saved team; the menu keys that led to it keep leading where it did.

    A list key keeps the team's people as a plain list; a department or person key keeps its
    department or person.
    """
    team.delete()
