from __future__ import annotations

import pytest

from membership.scopes import ScopeError, parse_scopes


def test_it_splits_on_spaces_commas_and_newlines_and_drops_duplicates() -> None:
    parsed = parse_scopes("User.Read, Calendars.Read\nuser.read  Calendars.ReadWrite")
    assert parsed.scopes == ["User.Read", "Calendars.Read", "Calendars.ReadWrite"]
    assert str(parsed) == "User.Read Calendars.Read Calendars.ReadWrite"


def test_it_removes_the_reserved_oidc_scopes_and_says_so() -> None:
    parsed = parse_scopes("openid User.Read offline_access PROFILE")
    assert parsed.scopes == ["User.Read"]
    assert parsed.removed_reserved == ["openid", "offline_access", "profile"]


def test_it_accepts_a_full_resource_uri() -> None:
    assert parse_scopes("https://graph.microsoft.com/Calendars.Read").scopes == [
        "https://graph.microsoft.com/Calendars.Read"
    ]


def test_it_accepts_graph_short_names_with_full_graph_uris_as_one_resource() -> None:
    parsed = parse_scopes("User.Read https://graph.microsoft.com/Calendars.Read")
    assert len(parsed.scopes) == 2


@pytest.mark.parametrize("bad", ["User Read!", "Calendars..Read", ".Read", "http://graph.microsoft.com/User.Read", "https:///User.Read", "https://graph.microsoft.com/"])
def test_it_rejects_malformed_scopes(bad: str) -> None:
    with pytest.raises(ScopeError):
        parse_scopes(bad)


def test_it_rejects_scopes_for_two_resources() -> None:
    with pytest.raises(ScopeError, match="different resources"):
        parse_scopes("User.Read api://11111111-2222-3333-4444-555555555555/access_as_user")


def test_it_rejects_dot_default_combined_with_other_scopes() -> None:
    with pytest.raises(ScopeError, match="cannot be combined"):
        parse_scopes("https://graph.microsoft.com/.default User.Read")


def test_an_empty_list_is_valid() -> None:
    assert parse_scopes("  \n ").scopes == []
