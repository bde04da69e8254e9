"""The demo tenant: people, an org tree, and the app registrations, derived from a seed."""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

DOMAIN = "lumenhall.example"
OTHER_DOMAIN = "northpier.example"
# Every account shares it; the info file and the README print it.
DEMO_PASSWORD = "Sandbox-Demo-2024!"  # noqa: S105 - a documented demo password
ADMIN_ROLE = "Portal.Admin"
GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

PORTAL_DELEGATED = (
    "User.Read",
    "User.ReadBasic.All",
    "User.Read.All",
    "Presence.Read",
    "Presence.Read.All",
    "Presence.ReadWrite",
    "OnlineMeetings.Read",
    "OnlineMeetings.ReadWrite",
    "OnlineMeetingArtifact.Read.All",
    "VirtualEvent.Read",
    "VirtualEvent.ReadWrite",
    "CallDelegation.Read",
    "CallDelegation.ReadWrite",
    "offline_access",
    "openid",
    "profile",
    "email",
)
PORTAL_APPLICATION = (
    "User.Read.All",
    "Presence.Read.All",
    "Presence.ReadWrite.All",
    "OnlineMeetings.Read.All",
    "OnlineMeetings.ReadWrite.All",
    "OnlineMeetingArtifact.Read.All",
    "CallRecords.Read.All",
    "CallRecord-PstnCalls.Read.All",
    "VirtualEvent.Read.All",
    "Calls.Initiate.All",
    "Calls.InitiateGroupCall.All",
    "Calls.JoinGroupCall.All",
    "Calls.AccessMedia.All",
)
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})

DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "Engineering": ("Software Engineer", "Senior Software Engineer", "Site Reliability Engineer"),
    "Sales": ("Account Executive", "Sales Development Representative", "Sales Engineer"),
    "Marketing": ("Content Strategist", "Marketing Analyst", "Brand Designer"),
    "Finance": ("Financial Analyst", "Accountant", "Payroll Specialist"),
    "Human Resources": ("HR Business Partner", "Recruiter", "People Operations Specialist"),
    "Customer Support": ("Support Specialist", "Support Engineer", "Customer Success Manager"),
    "Legal": ("Counsel", "Paralegal", "Compliance Officer"),
    "Operations": ("Operations Analyst", "Facilities Coordinator", "IT Administrator"),
}
OFFICES = ("Harbour Tower 12", "Harbour Tower 14", "Riverside 2", "Riverside 3", "Remote")
CITY_OF_OFFICE = {
    "Harbour Tower 12": "Bristol",
    "Harbour Tower 14": "Bristol",
    "Riverside 2": "Leeds",
    "Riverside 3": "Leeds",
}

# The named cast: the first people of every tenant, whatever the seed, so tests can name them.
CAST: tuple[tuple[str, str, str, str, bool], ...] = (
    # given name, surname, department, job title, portal admin
    ("Megan", "Reyes", "Executive", "Chief Executive Officer", True),
    ("Daniel", "Okafor", "Operations", "Head of Operations", True),
    ("Priya", "Natarajan", "Engineering", "Head of Engineering", False),
    ("Tomas", "Lindqvist", "Sales", "Head of Sales", False),
    ("Grace", "Whitfield", "Marketing", "Head of Marketing", False),
    ("Samuel", "Ortega", "Finance", "Head of Finance", False),
    ("Aiko", "Tanaka", "Human Resources", "Head of Human Resources", False),
    ("Lena", "Brandt", "Customer Support", "Head of Customer Support", False),
    ("Marcus", "Bell", "Legal", "General Counsel", False),
)
GIVEN_NAMES = (
    "Alex", "Bianca", "Carlos", "Dana", "Elif", "Farah", "Gabriel", "Hana", "Ivan", "Jade",
    "Kofi", "Laila", "Mateo", "Nadia", "Oscar", "Paula", "Quentin", "Rosa", "Sanjay", "Tara",
    "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Anders", "Beatriz", "Chen", "Dmitri",
    "Esther", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Keira", "Luca", "Mina", "Noah",
)  # fmt: skip
SURNAMES = (
    "Abbott", "Banerjee", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad",
    "Ivanova", "Jensen", "Kowalski", "Laurent", "Moreau", "Nakamura", "Oliveira", "Petrov",
    "Quinn", "Rossi", "Schmidt", "Torres", "Usman", "Varga", "Weber", "Xu", "Yilmaz",
    "Zhang", "Adeyemi", "Bergstrom", "Costa", "Duarte", "Evans", "Fontaine",
)  # fmt: skip
SERVICE_ACCOUNTS = (
    ("Room - Harbour View", "room.harbourview", "Meeting Room"),
    ("Room - Riverside Studio", "room.riversidestudio", "Meeting Room"),
    ("svc-teams-recorder", "svc-teams-recorder", "Service Account"),
)


@dataclass
class User:
    """One directory user; ``to_graph`` gives Graph's JSON for it."""

    id: str
    user_principal_name: str
    display_name: str
    given_name: str | None
    surname: str | None
    job_title: str | None
    department: str | None
    office_location: str | None
    business_phones: list[str]
    mobile_phone: str | None
    account_enabled: bool = True
    user_type: str = "Member"
    manager_id: str | None = None
    roles: tuple[str, ...] = ()
    is_service_account: bool = False
    tenant_id: str = ""
    # Directory change counter at the last change, read by /users/delta.
    change_sequence: int = 0
    deleted: bool = False

    @property
    def mail(self) -> str:
        return self.user_principal_name

    @property
    def city(self) -> str | None:
        return CITY_OF_OFFICE.get(self.office_location or "")

    def to_graph(self) -> dict[str, Any]:
        """Return the user as Graph's default property set plus the portal-relevant extras."""
        return {
            "id": self.id,
            "businessPhones": list(self.business_phones),
            "displayName": self.display_name,
            "givenName": self.given_name,
            "jobTitle": self.job_title,
            "mail": self.mail,
            "mobilePhone": self.mobile_phone,
            "officeLocation": self.office_location,
            "preferredLanguage": "en-US",
            "surname": self.surname,
            "userPrincipalName": self.user_principal_name,
            "department": self.department,
            "accountEnabled": self.account_enabled,
            "userType": self.user_type,
            "city": self.city,
        }


@dataclass
class App:
    """An app registration with its secret, redirect URIs and granted permissions."""

    client_id: str
    client_secret: str
    name: str
    redirect_uris: tuple[str, ...]
    delegated: tuple[str, ...]
    application: tuple[str, ...]
    app_roles: tuple[str, ...] = ()
    multi_tenant: bool = True

    def to_info(self) -> dict[str, Any]:
        """Return the app as the info file lists it."""
        return {
            "name": self.name,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": list(self.redirect_uris),
            "delegated": list(self.delegated),
            "application": list(self.application),
            "app_roles": list(self.app_roles),
        }


# Where the portal listens in the demo; tests add their own loopback ports (allowed below).
DEFAULT_REDIRECT_URIS = ("http://127.0.0.1:8000/accounts/callback",)
# Any loopback port may host this path, as tests run the portal on free ports.
LOOPBACK_CALLBACK_PATH = "/accounts/callback"


@dataclass
class Tenant:
    """The demo tenant plus a second, foreign tenant with one person."""

    tenant_id: str
    display_name: str
    domain: str
    users: list[User]
    apps: dict[str, App]
    other_tenant_id: str
    other_users: list[User]
    portal_client_id: str
    limited_client_id: str
    by_id: dict[str, User] = field(default_factory=dict)
    by_upn: dict[str, User] = field(default_factory=dict)
    # Bumped on every directory change; users remember the value at their last change.
    change_counter: int = 0

    def __post_init__(self) -> None:
        for user in [*self.users, *self.other_users]:
            self.by_id[user.id] = user
            self.by_upn[user.user_principal_name.lower()] = user

    def find_user(self, id_or_upn: str) -> User | None:
        """Return the live (not deleted) user with this object id or UPN, in any tenant."""
        user = self.by_id.get(id_or_upn.lower()) or self.by_upn.get(id_or_upn.lower())
        if user is None or user.deleted:
            return None
        return user

    def directory_user(self, id_or_upn: str) -> User | None:
        """Return a live user of the home tenant (what Graph serves), or None."""
        user = self.find_user(id_or_upn)
        return user if user is not None and user.tenant_id == self.tenant_id else None

    def app(self, client_id: str) -> App | None:
        """Return the app registration with this client id, or None."""
        return self.apps.get(client_id.lower())

    def live_users(self) -> list[User]:
        """Return the home tenant's users in directory order, without deleted ones."""
        return [user for user in self.users if not user.deleted]

    def direct_reports(self, manager_id: str) -> list[User]:
        """Return the live users whose manager is ``manager_id``."""
        return [u for u in self.users if u.manager_id == manager_id and not u.deleted]

    def record_change(self, user: User) -> None:
        """Mark ``user`` as changed now, so the next delta round returns it."""
        self.change_counter += 1
        user.change_sequence = self.change_counter


def _seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _phone(rng: random.Random, prefix: str) -> str:
    return f"+1 555 {prefix}{rng.randrange(1000, 9999)}"


def _secret(seed: int, name: str) -> str:
    digest = hashlib.sha256(f"sandbox-secret:{seed}:{name}".encode()).hexdigest()
    return f"sbx~{digest[:36]}"


def build_tenant(
    *, seed: int = 1, users: int = 60, extra_redirect_uris: tuple[str, ...] = ()
) -> Tenant:
    """Build the deterministic tenant for ``seed`` with ``users`` people plus service accounts."""
    if users < len(CAST):
        raise ValueError(f"--users must be at least {len(CAST)} (the named cast)")
    rng = random.Random(seed)
    tenant_id = _seeded_uuid(rng)
    other_tenant_id = _seeded_uuid(rng)
    people = _build_people(rng, tenant_id, users)
    people.extend(_build_service_accounts(rng, tenant_id))
    other_user = User(
        id=_seeded_uuid(rng),
        user_principal_name=f"jordan.hale@{OTHER_DOMAIN}",
        display_name="Jordan Hale",
        given_name="Jordan",
        surname="Hale",
        job_title="Consultant",
        department="Advisory",
        office_location=None,
        business_phones=[],
        mobile_phone=None,
        tenant_id=other_tenant_id,
    )
    portal = App(
        client_id=_seeded_uuid(rng),
        client_secret=_secret(seed, "portal"),
        name="Comms Portal",
        redirect_uris=(*DEFAULT_REDIRECT_URIS, *extra_redirect_uris),
        delegated=PORTAL_DELEGATED,
        application=PORTAL_APPLICATION,
        app_roles=(ADMIN_ROLE,),
    )
    limited = App(
        client_id=_seeded_uuid(rng),
        client_secret=_secret(seed, "limited"),
        name="Limited Reader",
        redirect_uris=(*DEFAULT_REDIRECT_URIS, *extra_redirect_uris),
        delegated=("User.Read", "offline_access", "openid", "profile", "email"),
        application=(),
    )
    return Tenant(
        tenant_id=tenant_id,
        display_name="Lumen Hall (sandbox)",
        domain=DOMAIN,
        users=people,
        apps={portal.client_id: portal, limited.client_id: limited},
        other_tenant_id=other_tenant_id,
        other_users=[other_user],
        portal_client_id=portal.client_id,
        limited_client_id=limited.client_id,
    )


def _build_people(rng: random.Random, tenant_id: str, count: int) -> list[User]:
    people: list[User] = []
    taken: set[str] = set()
    members: dict[str, list[User]] = {name: [] for name in ("Executive", *DEPARTMENTS)}
    for index in range(count):
        if index < len(CAST):
            given, surname, department, title, admin = CAST[index]
        else:
            given, surname = rng.choice(GIVEN_NAMES), rng.choice(SURNAMES)
            department = list(DEPARTMENTS)[index % len(DEPARTMENTS)]
            title, admin = rng.choice(DEPARTMENTS[department]), False
        alias = f"{given}.{surname}".lower()
        suffix = 2
        while alias in taken:
            alias = f"{given}.{surname}{suffix}".lower()
            suffix += 1
        taken.add(alias)
        user = User(
            id=_seeded_uuid(rng),
            user_principal_name=f"{alias}@{DOMAIN}",
            display_name=f"{given} {surname}",
            given_name=given,
            surname=surname,
            job_title=title,
            department=department,
            office_location=rng.choice(OFFICES),
            business_phones=[_phone(rng, "01")],
            mobile_phone=_phone(rng, "02") if index % 3 else None,
            roles=(ADMIN_ROLE,) if admin else (),
            tenant_id=tenant_id,
        )
        _attach_to_org(user, members, people)
        people.append(user)
    return people


def _attach_to_org(user: User, members: dict[str, list[User]], people: list[User]) -> None:
    """Hang ``user`` into the org tree: heads report to the CEO, others form a 5-wide tree."""
    if not people:
        members["Executive"].append(user)
        return
    ceo = people[0]
    department = user.department or "Executive"
    team = members.setdefault(department, [])
    if not team:
        user.manager_id = ceo.id
    else:
        manager = team[(len(team) - 1) // 5]
        user.manager_id = manager.id
        if manager is not team[0] and not (manager.job_title or "").endswith("Lead"):
            manager.job_title = f"{department} Team Lead"
    team.append(user)


def _build_service_accounts(rng: random.Random, tenant_id: str) -> list[User]:
    return [
        User(
            id=_seeded_uuid(rng),
            user_principal_name=f"{alias}@{DOMAIN}",
            display_name=display_name,
            given_name=None,
            surname=None,
            job_title=None,
            department=department,
            office_location=None,
            business_phones=[],
            mobile_phone=None,
            is_service_account=True,
            tenant_id=tenant_id,
        )
        for display_name, alias, department in SERVICE_ACCOUNTS
    ]
