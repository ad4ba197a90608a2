"""The default seed: two tenants, their users, roles, calendars and events, and the app registrations.

Ids are stable (uuid5) so tests and scripts can name them; event times are placed relative to the
current week so the demo always has upcoming events. ``--seed FILE`` takes the same shape as JSON.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

_NS = uuid.UUID("3f2c0c2e-7d2a-4c55-9a55-1b3d7c3a9e10")

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"

ROLE_TEMPLATES = {
    GLOBAL_ADMIN: ("Global Administrator", "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities."),
    USER_ADMIN: ("User Administrator", "Can manage all aspects of users and groups, including resetting passwords for limited admins."),
    PRIVILEGED_ROLE_ADMIN: ("Privileged Role Administrator", "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management."),
    DIRECTORY_READERS: ("Directory Readers", "Can read basic directory information."),
}

CLIENT_SECRET = "Emu8Q~local-emulator-secret-0123456789abcdef"
EXPIRED_CLIENT_SECRET = "Emu8Q~expired-emulator-secret-0123456789abcd"


APP_ROLES = (("Admin", "Administers the membership platform."), ("Editor", "Edits the platform's content."),
             ("Reader", "Reads the platform's content."))


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "/".join(parts)))


def app_role(client_id: str, value: str, description: str | None = None) -> dict[str, Any]:
    """An app role as the registration defines it (its id is stable per app and value)."""
    return {"id": stable_id("app-role", client_id, value), "value": value, "displayName": value,
            "description": description or f"{value} role", "allowedMemberTypes": ["User"], "isEnabled": True,
            "origin": "Application"}


def _user(tenant: str, domain: str, given: str, surname: str, job: str, dept: str, office: str, *,
          manager: str | None = None, photo: bool = True) -> dict[str, Any]:
    nick = given.lower()
    return {
        "id": stable_id(tenant, "user", nick),
        "displayName": f"{given} {surname}",
        "givenName": given,
        "surname": surname,
        "userPrincipalName": f"{nick}@{domain}",
        "mail": f"{nick}@{domain}",
        "mailNickname": nick,
        "jobTitle": job,
        "department": dept,
        "officeLocation": office,
        "businessPhones": ["+1 425 555 01" + str(len(given) * 7 % 100).zfill(2)],
        "mobilePhone": None,
        "preferredLanguage": "en-US",
        "accountEnabled": True,
        "usageLocation": "US",
        "manager": manager,
        "photo": photo,
        "createdDateTime": "2024-01-15T09:00:00Z",
    }


def _event(owner: dict[str, Any], key: str, subject: str, start: datetime, minutes: int, *,
           attendees: list[dict[str, Any]] = (), organizer: dict[str, Any] | None = None,  # type: ignore[assignment]
           location: str = "", recurrence: dict[str, Any] | None = None, show_as: str = "busy",
           is_online: bool = False) -> dict[str, Any]:
    organizer = organizer or owner
    end = start + timedelta(minutes=minutes)
    fmt = "%Y-%m-%dT%H:%M:%S.0000000"
    is_organizer = organizer["id"] == owner["id"]
    return {
        "id": "AAMkAG" + stable_id(owner["id"], "event", key).replace("-", ""),
        "iCalUId": "040000008200E00074C5B7101A82E008" + stable_id(organizer["id"], "ical", key).replace("-", "").upper(),
        "subject": subject,
        "bodyPreview": f"{subject} — agenda in the invitation.",
        "body": {"contentType": "text", "content": f"{subject} — agenda in the invitation."},
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": False,
        "isCancelled": False,
        "isOrganizer": is_organizer,
        "isOnlineMeeting": is_online,
        "showAs": show_as,
        "type": "seriesMaster" if recurrence else "singleInstance",
        "start": {"dateTime": start.strftime(fmt), "timeZone": "UTC"},
        "end": {"dateTime": end.strftime(fmt), "timeZone": "UTC"},
        "location": {"displayName": location},
        "organizer": {"emailAddress": {"name": organizer["displayName"], "address": organizer["mail"]}},
        "attendees": [
            {
                "type": "required",
                "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {"name": a["displayName"], "address": a["mail"]},
            }
            for a in attendees
        ],
        "responseStatus": {
            "response": "organizer" if is_organizer else "notResponded",
            "time": "0001-01-01T00:00:00Z",
        },
        "recurrence": recurrence,
        "seriesMasterId": None,
        "transactionId": None,
        "createdDateTime": "2024-01-15T09:00:00Z",
        "lastModifiedDateTime": "2024-01-15T09:00:00Z",
    }


def _calendar(owner: dict[str, Any], name: str, *, default: bool, color: str = "auto") -> dict[str, Any]:
    return {
        "id": "AAMkAGC" + stable_id(owner["id"], "calendar", name).replace("-", ""),
        "name": name,
        "color": color,
        "hexColor": "",
        "isDefaultCalendar": default,
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "isRemovable": not default,
        "owner": {"name": owner["displayName"], "address": owner["mail"]},
        "events": [],
    }


def default_seed(now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    week = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)

    contoso_id = stable_id("tenant", "contoso")
    domain = "contoso.test"
    t = contoso_id
    adele = _user(t, domain, "Adele", "Vance", "Chief Executive Officer", "Executive Management", "Building 1")
    megan = _user(t, domain, "Megan", "Bowen", "Director of HR", "Human Resources", "Building 1", manager=adele["id"])
    alex = _user(t, domain, "Alex", "Wilber", "Marketing Manager", "Marketing", "Building 2", manager=adele["id"])
    diego = _user(t, domain, "Diego", "Siciliani", "HR Manager", "Human Resources", "Building 1", manager=megan["id"])
    grady = _user(t, domain, "Grady", "Archie", "Designer", "Research & Development", "Building 3", manager=alex["id"])
    isaiah = _user(t, domain, "Isaiah", "Langer", "Sales Rep", "Sales", "Building 2", manager=alex["id"])
    johanna = _user(t, domain, "Johanna", "Lorenz", "Senior Engineer", "Engineering", "Building 3", manager=alex["id"])
    lee = _user(t, domain, "Lee", "Gu", "Director of Engineering", "Engineering", "Building 3", manager=adele["id"])
    lidia = _user(t, domain, "Lidia", "Holloway", "Product Manager", "Engineering", "Building 3", manager=lee["id"])
    lynne = _user(t, domain, "Lynne", "Robbins", "Planner", "Retail", "Building 2", manager=lee["id"], photo=False)
    miriam = _user(t, domain, "Miriam", "Graham", "Director", "Sales & Marketing", "Building 2", manager=adele["id"])
    nestor = _user(t, domain, "Nestor", "Wilke", "Director of Operations", "Operations", "Building 1", manager=lee["id"])
    patti = _user(t, domain, "Patti", "Fernandez", "President", "Executive Management", "Building 1", manager=adele["id"], photo=False)
    contoso_users = [adele, megan, alex, diego, grady, isaiah, johanna, lee, lidia, lynne, miriam, nestor, patti]

    for u in contoso_users:
        u["calendars"] = [_calendar(u, "Calendar", default=True)]
    lee["calendars"].append(_calendar(lee, "Projects", default=False, color="lightBlue"))

    standup_attendees = [lidia, johanna, nestor, lynne]
    standup_start = week + timedelta(hours=9)
    recurrence = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "sunday",
                    "month": 0, "dayOfMonth": 0, "index": "first"},
        "range": {"type": "noEnd", "startDate": standup_start.strftime("%Y-%m-%d"), "endDate": "0001-01-01",
                  "recurrenceTimeZone": "UTC", "numberOfOccurrences": 0},
    }
    for owner in [lee, *standup_attendees]:
        owner["calendars"][0]["events"].append(_event(
            owner, "standup", "Engineering weekly sync", standup_start, 30,
            attendees=standup_attendees, organizer=lee, location="Building 3 / Room 301",
            recurrence=recurrence, is_online=True))
    planning = week + timedelta(days=2, hours=14)
    for owner in [adele, lee, miriam]:
        owner["calendars"][0]["events"].append(_event(
            owner, "planning", "Quarterly planning", planning, 90,
            attendees=[lee, miriam], organizer=adele, location="Building 1 / Boardroom"))
    review = week + timedelta(days=7 + 3, hours=10)
    for owner in [megan, diego]:
        owner["calendars"][0]["events"].append(_event(
            owner, "review", "Benefits review", review, 60, attendees=[diego], organizer=megan))
    for i, u in enumerate(contoso_users):
        day = (i % 5) + 7  # next week, Monday..Friday
        u["calendars"][0]["events"].append(_event(
            u, "focus", "Focus time", week + timedelta(days=day, hours=13), 120, show_as="busy"))
    lee["calendars"][1]["events"].append(_event(
        lee, "launch", "Launch readiness", week + timedelta(days=8, hours=16), 45, location="Teams"))

    fabrikam_id = stable_id("tenant", "fabrikam")
    fdomain = "fabrikam.test"
    f = fabrikam_id
    fiona = _user(f, fdomain, "Fiona", "Ortiz", "IT Administrator", "IT", "HQ")
    gus = _user(f, fdomain, "Gus", "Hartley", "Consultant", "Services", "HQ", manager=fiona["id"])
    hana = _user(f, fdomain, "Hana", "Sato", "Analyst", "Finance", "HQ", manager=fiona["id"], photo=False)
    fabrikam_users = [fiona, gus, hana]
    for u in fabrikam_users:
        u["calendars"] = [_calendar(u, "Calendar", default=True)]
    fiona["calendars"][0]["events"].append(_event(
        fiona, "patch", "Patch window", week + timedelta(days=8, hours=20), 60))

    def roles(tid: str) -> list[dict[str, Any]]:
        return [
            {"id": stable_id(tid, "role", template), "roleTemplateId": template,
             "displayName": name, "description": desc}
            for template, (name, desc) in ROLE_TEMPLATES.items()
        ]

    def assignment(tid: str, principal: dict[str, Any], template: str) -> dict[str, Any]:
        return {"id": stable_id(tid, "assignment", principal["id"], template),
                "principalId": principal["id"], "roleDefinitionId": template, "directoryScopeId": "/"}

    groups = [
        {"id": stable_id(t, "group", "engineering"), "displayName": "Engineering", "mailNickname": "engineering",
         "description": "Everyone in Engineering", "members": [lee["id"], lidia["id"], johanna["id"], nestor["id"], lynne["id"]]},
        {"id": stable_id(t, "group", "all"), "displayName": "All Company", "mailNickname": "allcompany",
         "description": "Everyone at Contoso", "members": [u["id"] for u in contoso_users]},
    ]

    app_id = stable_id("app", "membership-platform")
    single_app_id = stable_id("app", "single-tenant-tool")
    redirect_uris = [
        "http://localhost:8000/auth/microsoft/callback/",
        "http://127.0.0.1:8000/auth/microsoft/callback/",
    ]
    delegated_all = ["User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All",
                     "User.DeleteRestore.All", "ProfilePhoto.Read.All", "GroupMember.Read.All",
                     "Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared",
                     "Calendars.ReadWrite.Shared", "Directory.Read.All", "Directory.ReadWrite.All",
                     "RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory"]
    return {
        "tenants": [
            {"id": contoso_id, "displayName": "Contoso", "domains": [domain, "contoso.onmicrosoft.test"],
             "users": contoso_users, "groups": groups, "directoryRoles": roles(t),
             "roleAssignments": [assignment(t, adele, GLOBAL_ADMIN), assignment(t, megan, USER_ADMIN)]},
            {"id": fabrikam_id, "displayName": "Fabrikam", "domains": [fdomain],
             "users": fabrikam_users, "groups": [], "directoryRoles": roles(f),
             "roleAssignments": [assignment(f, fiona, GLOBAL_ADMIN)]},
        ],
        "apps": [
            {
                "client_id": app_id,
                "displayName": "Membership platform",
                "home_tenant": contoso_id,
                "signInAudience": "AzureADMultipleOrgs",
                "redirect_uris": redirect_uris,
                "secrets": [
                    {"hint": CLIENT_SECRET[:3], "value": CLIENT_SECRET,
                     "expires": (now + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")},
                    {"hint": EXPIRED_CLIENT_SECRET[:3], "value": EXPIRED_CLIENT_SECRET,
                     "expires": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")},
                ],
                # Application permissions (app roles) an admin granted, per tenant.
                "app_roles": {
                    contoso_id: ["User.Read.All", "User.ReadWrite.All", "Calendars.ReadWrite",
                                 "Directory.Read.All", "RoleManagement.ReadWrite.Directory"],
                },
                # Delegated consent: tenant-wide (admin) grants and per-user grants.
                "delegated_admin_consent": {contoso_id: ["User.Read", "Calendars.ReadWrite"]},
                "delegated_user_consent": {contoso_id: {lee["id"]: ["User.Read", "Calendars.ReadWrite", "User.ReadBasic.All"]}},
                # Scopes users may consent to themselves; others need an admin (AADSTS65001 path).
                "user_consentable": ["User.Read", "User.ReadBasic.All", "Calendars.Read", "Calendars.ReadWrite",
                                     "Calendars.Read.Shared"],
                "known_scopes": delegated_all,
                # "API permissions" configured on the registration: what `.default` stands for.
                "delegated_permissions": delegated_all,
                "application_permissions": ["User.Read.All", "User.ReadWrite.All", "Calendars.ReadWrite",
                                            "Directory.Read.All", "RoleManagement.ReadWrite.Directory"],
                # The app's own roles (App roles), assigned to users and groups in Enterprise applications,
                # and the groups claim its manifest asks for.
                "appRoles": [app_role(app_id, value, description) for value, description in APP_ROLES],
                "groupMembershipClaims": "SecurityGroup",
            },
            {
                "client_id": single_app_id,
                "displayName": "Single-tenant tool",
                "home_tenant": contoso_id,
                "signInAudience": "AzureADMyOrg",
                "redirect_uris": redirect_uris,
                "secrets": [{"hint": CLIENT_SECRET[:3], "value": CLIENT_SECRET,
                             "expires": (now + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")}],
                "app_roles": {contoso_id: ["User.Read.All"]},
                "delegated_admin_consent": {contoso_id: ["User.Read"]},
                "delegated_user_consent": {},
                "user_consentable": ["User.Read"],
                "known_scopes": delegated_all,
            },
        ],
    }
