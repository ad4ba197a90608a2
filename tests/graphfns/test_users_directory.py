"""The users family's directory functions: app role assignments, transitive membership, checkMemberGroups, delta."""

from __future__ import annotations

from typing import Any

import pytest

import graphfns
from membership.models import MicrosoftSettings
from tests.support.api import failure
from tests.support.directory import Directory
from tests.support.members import Connect


@pytest.fixture
def directory(emulator: Any, http_emulator: Any) -> Directory:
    return Directory(emulator, http_emulator)


def test_app_role_assignments_name_the_role_for_the_member_and_the_application(
        connect: Connect, directory: Directory, emulator: Any) -> None:
    lee = connect("lee")
    directory.assign_role("lee@contoso.test", "Editor")
    editor = next(r for r in emulator.emulator.state["apps"][0]["appRoles"] if r["value"] == "Editor")
    mine = graphfns.execute("users.app_role_assignments", {"user_id": "me"}, auth_user=lee)
    theirs = graphfns.execute("users.app_role_assignments", {"user_id": "lee@contoso.test"})
    assert [a["appRoleId"] for a in mine["value"]] == [a["appRoleId"] for a in theirs["value"]] == [editor["id"]]


def test_transitive_membership_includes_nested_groups_and_filters_by_kind(
        directory: Directory, microsoft: MicrosoftSettings) -> None:
    inner = directory.group("Inner", ("lee@contoso.test",))
    outer = directory.group("Outer", (inner,))
    groups = graphfns.execute("users.transitive_member_of", {"user_id": "lee@contoso.test", "kind": "group",
                                                             "select": ["id", "displayName"]})
    assert {inner, outer} <= {g["id"] for g in groups["value"]}
    assert all(g["@odata.type"] == "#microsoft.graph.group" for g in groups["value"])


def test_check_member_groups_asks_twenty_at_a_time(directory: Directory, microsoft: MicrosoftSettings,
                                                  emulator: Any) -> None:
    held = [directory.group(f"Held {i}", ("lee@contoso.test",)) for i in range(3)]
    others = [directory.group(f"Other {i}") for i in range(22)]
    emulator.emulator.requests.clear()
    result = graphfns.execute("users.check_member_groups", {"user_id": "lee@contoso.test",
                                                            "group_ids": [*others, *held]})
    assert sorted(result["value"]) == sorted(held)
    assert sum(n for k, n in emulator.emulator.requests.items() if "checkMemberGroups" in k) == 2


def test_delta_returns_every_user_then_only_the_changes(directory: Directory, microsoft: MicrosoftSettings) -> None:
    first = graphfns.execute("users.delta", {"select": ["displayName", "jobTitle"]})
    assert first["count"] > 10 and first["delta_link"]
    directory.patch("lee@contoso.test", jobTitle="Chief Delta Officer")
    directory.delete("alex@contoso.test")
    changes = graphfns.execute("users.delta", {"link": first["delta_link"]})
    by_id = {u["id"]: u for u in changes["value"]}
    assert len(by_id) == 2
    assert any(u.get("jobTitle") == "Chief Delta Officer" for u in by_id.values())
    assert any("@removed" in u for u in by_id.values())


def test_delta_one_page_at_a_time_gives_the_next_link(directory: Directory, microsoft: MicrosoftSettings) -> None:
    directory.bulk(120)
    page = graphfns.execute("users.delta", {"all_pages": False})
    assert page["count"] == 100 and page["next_link"] and "delta_link" not in page
    rest = graphfns.execute("users.delta", {"link": page["next_link"]})
    assert rest["delta_link"] and page["count"] + rest["count"] >= 120


def test_delta_refuses_a_link_to_another_host(microsoft: MicrosoftSettings) -> None:
    error = failure("users.delta", {"link": "https://evil.example/v1.0/users/delta?$deltatoken=x"})
    assert error.code == "ValidationError" and error.details.get("field") == "link"
