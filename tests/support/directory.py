"""The emulator's directory in tests: its control API (disable, delete, groups, app roles) and linked members."""

from __future__ import annotations

from typing import Any

import requests
from django.contrib.auth.models import Group, User

from emulator.server import RunningEmulator
from membership.models import MicrosoftAccount, RoleMapping


class Directory:
    """Changes to the emulator's directory through its control API, as an Entra administrator makes them."""

    def __init__(self, emulator: RunningEmulator, http: requests.Session) -> None:
        self.emulator = emulator
        self.http = http
        self.base = f"{emulator.base_url}/_emulator"

    def call(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        response = self.http.request(method, self.base + path, json=body, timeout=30)
        assert response.status_code < 400 if expect is None else response.status_code == expect, response.text
        return response.json() if response.content else None

    def assign_role(self, user: str, value: str) -> None:
        self.call("POST", f"/users/{user}/app-role-assignments", {"value": value})

    def unassign_role(self, user: str, value: str) -> None:
        self.call("DELETE", f"/users/{user}/app-role-assignments/{value}")

    def group(self, name: str, members: tuple[str, ...] = ()) -> str:
        gid = str(self.call("POST", "/groups", {"displayName": name})["id"])
        for member in members:
            self.call("POST", f"/groups/{gid}/members", {"id": member})
        return gid

    def disable(self, user: str) -> None:
        self.call("POST", f"/users/{user}/disable")

    def enable(self, user: str) -> None:
        self.call("POST", f"/users/{user}/enable")

    def delete(self, user: str, permanent: bool = False) -> None:
        self.call("DELETE", f"/users/{user}" + ("?permanent=true" if permanent else ""))

    def restore(self, user: str) -> None:
        self.call("POST", f"/users/{user}/restore")

    def patch(self, user: str, **changes: str) -> None:
        self.call("PATCH", f"/users/{user}", changes)

    def bulk(self, count: int, prefix: str = "member") -> tuple[str, list[str]]:
        answer = self.call("POST", "/users/bulk", {"count": count, "prefix": prefix})
        return str(answer["tenant_id"]), [str(i) for i in answer["ids"]]

    def fault(self, **fault: Any) -> None:
        self.call("POST", "/faults", {"kind": "status", **fault})

    def clear_faults(self) -> None:
        self.call("DELETE", "/faults")


def mapping(source: str, value: str, *groups: str, staff: bool = False, superuser: bool = False) -> RoleMapping:
    """A role mapping to Django groups (made when missing)."""
    row = RoleMapping.objects.create(source=source, value=value, grants_staff=staff, grants_superuser=superuser)
    row.groups.set([Group.objects.get_or_create(name=name)[0] for name in groups])
    return row


def link_members(tenant_id: str, object_ids: list[str], prefix: str = "member") -> list[MicrosoftAccount]:
    """Members linked to directory users, made in bulk (as if each had signed in once, without tokens)."""
    users = User.objects.bulk_create([User(username=f"{prefix}-{oid}") for oid in object_ids])
    return MicrosoftAccount.objects.bulk_create([
        MicrosoftAccount(user=u, tenant_id=tenant_id.lower(), object_id=oid.lower())
        for u, oid in zip(users, object_ids, strict=True)])


def group_names(user: User) -> set[str]:
    return set(user.groups.values_list("name", flat=True))
