"""The users delta query: paging, deltaLinks, removals, resuming a round, and its tokens."""

from __future__ import annotations

from typing import Any

import requests

from emulator.server import RunningEmulator
from tests.support.graph import graph_call, graph_token

CONTOSO = "contoso.test"


def _app(emulator: RunningEmulator) -> str:
    return graph_token(emulator, None, roles=("User.Read.All",))


def _get(http: requests.Session, emulator: RunningEmulator, path: str, token: str, **headers: str) -> dict[str, Any]:
    resp = graph_call(http, emulator, "GET", path, token, **headers)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _round(http: requests.Session, emulator: RunningEmulator, first: str, token: str,
           **headers: str) -> tuple[list[dict[str, Any]], str, int]:
    """Follow nextLinks to the deltaLink: (every value, the deltaLink, pages read)."""
    values: list[dict[str, Any]] = []
    link, pages = first, 0
    while True:
        body = _get(http, emulator, link, token, **headers)
        pages += 1
        values += body["value"]
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return values, body["@odata.deltaLink"], pages
        link = body["@odata.nextLink"]


def _ctl(emulator: RunningEmulator, path: str) -> str:
    return f"{emulator.base_url}/_emulator{path}"


def _users(emulator: RunningEmulator) -> list[dict[str, Any]]:
    tenant = emulator.emulator.tenant(CONTOSO)
    assert tenant is not None
    return list(tenant["users"])


def test_the_first_round_lists_every_user_in_pages_and_ends_with_a_delta_link(
        emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _app(emulator)
    first = _get(http_emulator, emulator, "/users/delta?$select=displayName,accountEnabled", token,
                 Prefer="odata.maxpagesize=5")
    assert first["@odata.context"].endswith("#users(displayName,accountEnabled)")
    assert "/v1.0/users/delta?$skiptoken=" in first["@odata.nextLink"] and "@odata.deltaLink" not in first
    assert all(set(u) == {"id", "displayName", "accountEnabled"} for u in first["value"])
    values, delta_link, pages = _round(http_emulator, emulator, "/users/delta?$select=displayName,accountEnabled",
                                       token, Prefer="odata.maxpagesize=5")
    assert sorted(u["id"] for u in values) == sorted(u["id"] for u in _users(emulator))
    assert pages == 3 and "/v1.0/users/delta?$deltatoken=" in delta_link
    # Nothing changed: the next round is empty.
    again, _, _ = _round(http_emulator, emulator, delta_link, token)
    assert again == []


def test_the_page_size_is_applied_and_said_so(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    resp = graph_call(http_emulator, emulator, "GET", "/users/delta", _app(emulator), Prefer="odata.maxpagesize=4")
    assert resp.headers["Preference-Applied"] == "odata.maxpagesize=4" and len(resp.json()["value"]) == 4
    default = graph_call(http_emulator, emulator, "GET", "/users/delta", _app(emulator))
    assert "Preference-Applied" not in default.headers
    assert len(default.json()["value"]) == len(_users(emulator)) and "@odata.deltaLink" in default.json()


def test_a_change_after_the_delta_link_appears_exactly_once(emulator: RunningEmulator,
                                                            http_emulator: requests.Session) -> None:
    token = _app(emulator)
    _, delta_link, _ = _round(http_emulator, emulator, "/users/delta?$select=displayName,jobTitle", token)
    assert http_emulator.patch(_ctl(emulator, "/users/lee@contoso.test"), json={"jobTitle": "CTO"}).status_code == 200
    changed, next_link, _ = _round(http_emulator, emulator, delta_link, token)
    lee = next(u for u in _users(emulator) if u["userPrincipalName"] == "lee@contoso.test")
    assert changed == [{"id": lee["id"], "displayName": "Lee Gu", "jobTitle": "CTO"}]
    assert _round(http_emulator, emulator, next_link, token)[0] == []


def test_graph_writes_count_as_changes(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = graph_token(emulator, None, roles=("User.ReadWrite.All",))
    _, delta_link, _ = _round(http_emulator, emulator, "/users/delta?$select=displayName", token)
    created = graph_call(http_emulator, emulator, "POST", "/users", token, {
        "accountEnabled": True, "displayName": "New Hire", "mailNickname": "newhire",
        "userPrincipalName": "newhire@contoso.test", "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}}).json()
    assert graph_call(http_emulator, emulator, "PATCH", "/users/alex@contoso.test", token,
                      {"displayName": "Alex W."}).status_code == 204
    changed, _, _ = _round(http_emulator, emulator, delta_link, token)
    assert {u["displayName"] for u in changed} == {"New Hire", "Alex W."}
    assert created["id"] in {u["id"] for u in changed}


def test_soft_and_hard_deletion_and_restore_have_their_shapes(emulator: RunningEmulator,
                                                              http_emulator: requests.Session) -> None:
    token = _app(emulator)
    ids = {u["userPrincipalName"]: u["id"] for u in _users(emulator)}
    _, delta_link, _ = _round(http_emulator, emulator, "/users/delta?$select=displayName,accountEnabled", token)
    assert http_emulator.delete(_ctl(emulator, "/users/grady@contoso.test")).status_code == 200
    assert http_emulator.delete(_ctl(emulator, "/users/isaiah@contoso.test?permanent=true")).status_code == 200
    assert http_emulator.post(_ctl(emulator, "/users/nestor@contoso.test/disable")).status_code == 200
    changed, delta_link, _ = _round(http_emulator, emulator, delta_link, token)
    by_id = {u["id"]: u for u in changed}
    assert by_id[ids["grady@contoso.test"]] == {"id": ids["grady@contoso.test"], "@removed": {"reason": "changed"}}
    assert by_id[ids["isaiah@contoso.test"]] == {"id": ids["isaiah@contoso.test"], "@removed": {"reason": "deleted"}}
    assert by_id[ids["nestor@contoso.test"]]["accountEnabled"] is False and len(by_id) == 3
    assert http_emulator.post(_ctl(emulator, f"/users/{ids['grady@contoso.test']}/restore")).status_code == 200
    restored, _, _ = _round(http_emulator, emulator, delta_link, token)
    assert restored == [{"id": ids["grady@contoso.test"], "displayName": "Grady Archie", "accountEnabled": True}]


def test_the_first_round_leaves_deleted_users_out(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    assert http_emulator.delete(_ctl(emulator, "/users/grady@contoso.test")).status_code == 200
    values, _, _ = _round(http_emulator, emulator, "/users/delta", _app(emulator))
    assert "@removed" not in str(values) and len(values) == len(_users(emulator))


def test_a_stored_next_link_gives_the_same_page_twice_and_the_round_resumes_from_it(
        emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _app(emulator)
    headers = {"Prefer": "odata.maxpagesize=4"}
    first = _get(http_emulator, emulator, "/users/delta?$select=displayName", token, **headers)
    stored = first["@odata.nextLink"]
    once = _get(http_emulator, emulator, stored, token, **headers)
    twice = _get(http_emulator, emulator, stored, token, **headers)
    assert once == twice
    # A change made half-way through the round comes in the next round, not this one.
    assert http_emulator.patch(_ctl(emulator, "/users/adele@contoso.test"), json={"displayName": "Adele V."}).ok
    rest, delta_link, _ = _round(http_emulator, emulator, stored, token, **headers)
    seen = [u["id"] for u in first["value"] + rest]
    assert len(seen) == len(set(seen))
    adele = next(u for u in _users(emulator) if u["userPrincipalName"] == "adele@contoso.test")
    missing = {u["id"] for u in _users(emulator)} - set(seen)
    assert missing <= {adele["id"]}
    following, _, _ = _round(http_emulator, emulator, delta_link, token)
    assert following == [{"id": adele["id"], "displayName": "Adele V."}]


def test_latest_gives_only_a_delta_link(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _app(emulator)
    body = _get(http_emulator, emulator, "/users/delta?$deltatoken=latest&$select=mail", token)
    assert body["value"] == [] and "@odata.nextLink" not in body
    assert http_emulator.patch(_ctl(emulator, "/users/lee@contoso.test"), json={"mail": "lee.gu@contoso.test"}).ok
    changed, _, _ = _round(http_emulator, emulator, body["@odata.deltaLink"], token)
    assert [u["mail"] for u in changed] == ["lee.gu@contoso.test"]


def test_bad_tokens_give_graph_errors(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _app(emulator)
    _, delta_link, _ = _round(http_emulator, emulator, "/users/delta", token)
    unreadable = graph_call(http_emulator, emulator, "GET", "/users/delta?$deltatoken=%%%", token)
    assert unreadable.status_code == 400 and unreadable.json()["error"]["code"] == "Request_BadRequest"
    tampered = graph_call(http_emulator, emulator, "GET", delta_link[:-3] + "AAA", token)
    assert tampered.status_code == 400 and tampered.json()["error"]["code"] == "syncStateNotFound"
    # A deltaLink from eight days ago (Graph keeps directory delta state for seven).
    http_emulator.post(_ctl(emulator, "/settings"), json={"clock_offset_seconds": -8 * 86400})
    _, old_link, _ = _round(http_emulator, emulator, "/users/delta", _app(emulator))
    http_emulator.post(_ctl(emulator, "/settings"), json={"clock_offset_seconds": 0})
    expired = graph_call(http_emulator, emulator, "GET", old_link, _app(emulator))
    assert expired.status_code == 400 and expired.json()["error"]["code"] == "syncStateNotFound", expired.text
    assert "synchronized again" in expired.json()["error"]["message"]
    http_emulator.post(_ctl(emulator, "/reset"))
    after_reset = graph_call(http_emulator, emulator, "GET", delta_link, _app(emulator))
    assert after_reset.status_code == 400 and after_reset.json()["error"]["code"] == "syncStateNotFound"


def test_the_delta_query_needs_a_directory_read_permission(emulator: RunningEmulator,
                                                           http_emulator: requests.Session) -> None:
    denied = graph_call(http_emulator, emulator, "GET", "/users/delta", graph_token(emulator, None, roles=("Calendars.Read",)))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "Authorization_RequestDenied"
    basic = graph_token(emulator, "lee@contoso.test", ("User.ReadBasic.All",))
    assert graph_call(http_emulator, emulator, "GET", "/users/delta", basic).status_code == 403
    delegated = graph_token(emulator, "lee@contoso.test", ("User.Read.All",))
    assert graph_call(http_emulator, emulator, "GET", "/users/delta", delegated).status_code == 200


def test_faults_apply_to_the_delta_query(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    http_emulator.post(_ctl(emulator, "/faults"), json={"kind": "status", "path": "/v1.0/users/delta*", "status": 503})
    token = _app(emulator)
    assert graph_call(http_emulator, emulator, "GET", "/users/delta", token).status_code == 503
    assert graph_call(http_emulator, emulator, "GET", "/users/delta", token).status_code == 200


def test_ten_thousand_users_sync_with_one_percent_changed(emulator: RunningEmulator,
                                                          http_emulator: requests.Session) -> None:
    created = http_emulator.post(_ctl(emulator, "/users/bulk"), json={"count": 10_000, "prefix": "member"})
    assert created.status_code == 201 and len(created.json()["ids"]) == 10_000
    token = _app(emulator)
    values, delta_link, pages = _round(http_emulator, emulator, "/users/delta?$select=displayName,accountEnabled",
                                       token, Prefer="odata.maxpagesize=999")
    assert len(values) == len(_users(emulator)) and pages == 11
    for uid in created.json()["ids"][::100]:
        assert http_emulator.post(_ctl(emulator, f"/users/{uid}/disable")).ok
    changed, _, _ = _round(http_emulator, emulator, delta_link, token)
    assert len(changed) == 100 and not any(u["accountEnabled"] for u in changed)
