"""Graph users: list with OData options, get, /me, create/update/delete rules, relationships, photos."""

from __future__ import annotations

import struct
import zlib

import requests

from emulator.server import RunningEmulator
from tests.support.graph import graph_call, graph_token

CONTOSO = "contoso.test"
ADMIN_SCOPES = ("User.Read", "User.ReadWrite.All", "Directory.Read.All")


def _token(emulator: RunningEmulator, upn: str | None, scopes: tuple[str, ...] = (), roles: tuple[str, ...] = (),
           domain: str = CONTOSO) -> str:
    return graph_token(emulator, upn, scopes, roles, domain)


_call = graph_call


def _reader(emulator: RunningEmulator) -> str:
    return _token(emulator, None, roles=("User.Read.All",))


def _names(resp: requests.Response) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [u["displayName"] for u in resp.json()["value"]]


def _error(resp: requests.Response, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code
    return str(resp.json()["error"]["message"])


# -- listing ------------------------------------------------------------------------------------


def test_listing_users_returns_the_default_property_set_and_nothing_internal(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    resp = _call(http_emulator, emulator, "GET", "/users", _reader(emulator))
    body = resp.json()
    assert body["@odata.context"].endswith("$metadata#users")
    assert len(body["value"]) == 13
    assert set(body["value"][0]) == {"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                                     "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}
    assert "@odata.nextLink" not in body


def test_select_limits_the_properties_and_names_them_in_the_context(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    body = _call(http_emulator, emulator, "GET", "/users?$select=displayName,department,accountEnabled", _reader(emulator)).json()
    assert body["@odata.context"].endswith("#users(displayName,department,accountEnabled)")
    assert all(set(u) == {"displayName", "department", "accountEnabled"} for u in body["value"])
    assert {"displayName": "Lee Gu", "department": "Engineering", "accountEnabled": True} in body["value"]


def test_every_property_v1_declares_on_a_user_can_be_selected(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    wanted = ("employeeHireDate,identities,onPremisesSamAccountName,mailboxSettings,securityIdentifier,"
              "imAddresses,otherMails,proxyAddresses,assignedLicenses,birthday,userType")
    resp = _call(http_emulator, emulator, "GET", f"/users/lee@contoso.test?$select={wanted}", _reader(emulator))
    assert resp.status_code == 200, resp.text
    lee = resp.json()
    assert lee["employeeHireDate"] is None and lee["onPremisesSamAccountName"] is None
    assert lee["identities"] == [{"signInType": "userPrincipalName", "issuer": "contoso.test",
                                  "issuerAssignedId": "lee@contoso.test"}]
    assert lee["imAddresses"] == [] and lee["otherMails"] == [] and lee["assignedLicenses"] == []  # never null
    assert lee["proxyAddresses"] == ["SMTP:lee@contoso.test"] and lee["userType"] == "Member"
    assert lee["securityIdentifier"].startswith("S-1-12-1-") and lee["mailboxSettings"]["timeZone"]


def test_selecting_an_internal_or_unknown_property_never_leaks_seed_data(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    resp = _call(http_emulator, emulator, "GET", "/users?$select=calendars", _reader(emulator))
    assert "Could not find a property named 'calendars'" in _error(resp, 400, "Request_BadRequest")
    body = _call(http_emulator, emulator, "GET", "/users/lee@contoso.test?$select=passwordProfile,id", _reader(emulator)).json()
    assert body["passwordProfile"] is None


def test_top_pages_through_every_user_with_absolute_next_links(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _reader(emulator)
    url = "/users?$top=5&$select=id"
    pages, seen = 0, []
    while url:
        body = _call(http_emulator, emulator, "GET", url, token).json()
        pages += 1
        seen += [u["id"] for u in body["value"]]
        url = body.get("@odata.nextLink")
        if url:
            assert url.startswith(f"{emulator.base_url}/v1.0/users?") and "$skiptoken=" in url and "$top=5" in url
    assert pages == 3
    assert len(seen) == 13 == len(set(seen))


def test_top_above_999_and_a_forged_skiptoken_are_rejected(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    msg = _error(_call(http_emulator, emulator, "GET", "/users?$top=1000", _reader(emulator)), 400, "Request_UnsupportedQuery")
    assert "between 1 and 999" in msg
    _error(_call(http_emulator, emulator, "GET", "/users?$skiptoken=garbage", _reader(emulator)), 400, "Request_BadRequest")


def test_filter_supports_eq_startswith_and_or_and_parentheses(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _reader(emulator)
    assert _names(_call(http_emulator, emulator, "GET", "/users?$filter=department eq 'engineering'", token)) == [
        "Johanna Lorenz", "Lee Gu", "Lidia Holloway"]
    assert _names(_call(http_emulator, emulator, "GET", "/users?$filter=startswith(displayName,'L')", token)) == [
        "Lee Gu", "Lidia Holloway", "Lynne Robbins"]
    both = "/users?$filter=(startswith(givenName,'L') or startswith(givenName,'A')) and officeLocation eq 'Building 2'"
    assert _names(_call(http_emulator, emulator, "GET", both, token)) == ["Alex Wilber", "Lynne Robbins"]


def test_filter_on_account_enabled_and_id_in_list(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _reader(emulator)
    lee = emulator.emulator.user(emulator.emulator.tenant(CONTOSO), "lee@contoso.test")  # type: ignore[arg-type]
    lee["accountEnabled"] = False  # type: ignore[index]
    assert _names(_call(http_emulator, emulator, "GET", "/users?$filter=accountEnabled eq false", token)) == ["Lee Gu"]
    assert len(_names(_call(http_emulator, emulator, "GET", "/users?$filter=accountEnabled eq true", token))) == 12
    ids = ",".join(f"'{u['id']}'" for u in emulator.emulator.tenant(CONTOSO)["users"][:2])  # type: ignore[index]
    assert _names(_call(http_emulator, emulator, "GET", f"/users?$filter=id in ({ids})", token)) == ["Adele Vance", "Megan Bowen"]


def test_ne_and_endswith_need_an_advanced_query(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _reader(emulator)
    _error(_call(http_emulator, emulator, "GET", "/users?$filter=department ne 'Engineering'", token), 400, "Request_UnsupportedQuery")
    advanced = _call(http_emulator, emulator, "GET", "/users?$filter=department ne 'Engineering'&$count=true", token,
                     ConsistencyLevel="eventual")
    assert advanced.json()["@odata.count"] == 10 == len(advanced.json()["value"])
    ends = _call(http_emulator, emulator, "GET", "/users?$filter=endswith(mail,'@contoso.test')&$count=true", token,
                 ConsistencyLevel="eventual")
    assert ends.json()["@odata.count"] == 13


def test_malformed_or_unsupported_filters_fail_like_graph(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _reader(emulator)
    msg = _error(_call(http_emulator, emulator, "GET", "/users?$filter=shoeSize eq 42", token), 400, "Request_BadRequest")
    assert msg == "Property 'shoeSize' does not exist as a declared property or extension property."
    _error(_call(http_emulator, emulator, "GET", "/users?$filter=substringof('a',displayName)", token), 400, "Request_UnsupportedQuery")
    _error(_call(http_emulator, emulator, "GET", "/users?$filter=displayName eq", token), 400, "BadRequest")


def test_orderby_sorts_ascending_and_descending(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _reader(emulator)
    asc = _names(_call(http_emulator, emulator, "GET", "/users?$orderby=displayName", token))
    desc = _names(_call(http_emulator, emulator, "GET", "/users?$orderby=userPrincipalName desc", token))
    assert asc == sorted(asc) and asc[0] == "Adele Vance"
    assert desc[0] == "Patti Fernandez" and desc[-1] == "Adele Vance"
    _error(_call(http_emulator, emulator, "GET", "/users?$orderby=jobTitle", token), 400, "Request_UnsupportedQuery")


def test_filter_with_orderby_is_only_allowed_as_an_advanced_query(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _reader(emulator)
    path = "/users?$filter=department eq 'Engineering'&$orderby=displayName desc"
    msg = _error(_call(http_emulator, emulator, "GET", path, token), 400, "Request_UnsupportedQuery")
    assert msg == "Sorting not supported for current query."
    ok = _call(http_emulator, emulator, "GET", path + "&$count=true", token, ConsistencyLevel="eventual")
    assert _names(ok) == ["Lidia Holloway", "Lee Gu", "Johanna Lorenz"]


def test_search_and_count_require_the_eventual_consistency_header(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _reader(emulator)
    msg = _error(_call(http_emulator, emulator, "GET", '/users?$search="displayName:gu"', token), 400, "Request_UnsupportedQuery")
    assert "ConsistencyLevel: eventual" in msg
    assert _error(_call(http_emulator, emulator, "GET", "/users?$count=true", token), 400,
                  "Request_BadRequest") == "$count is not currently supported."
    found = _call(http_emulator, emulator, "GET", '/users?$search="displayName:gu"&$count=true', token, ConsistencyLevel="eventual")
    assert _names(found) == ["Lee Gu"] and found.json()["@odata.count"] == 1
    either = _call(http_emulator, emulator, "GET", '/users?$search="displayName:ho" OR "mail:megan"', token, ConsistencyLevel="eventual")
    assert sorted(_names(either)) == ["Lidia Holloway", "Megan Bowen"]


def test_users_count_segment_returns_plain_text(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    resp = _call(http_emulator, emulator, "GET", "/users/$count", _reader(emulator), ConsistencyLevel="eventual")
    assert resp.status_code == 200 and resp.text == "13"
    assert resp.headers["content-type"].startswith("text/plain")


def test_listing_users_needs_a_directory_read_permission(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    only_me = _token(emulator, "lee@contoso.test", ("User.Read",))
    msg = _error(_call(http_emulator, emulator, "GET", "/users", only_me), 403, "Authorization_RequestDenied")
    assert msg == "Insufficient privileges to complete the operation."
    basic = _token(emulator, "lee@contoso.test", ("User.ReadBasic.All",))
    assert _call(http_emulator, emulator, "GET", "/users", basic).status_code == 200
    app_without = _token(emulator, None, roles=("Calendars.Read",))
    _error(_call(http_emulator, emulator, "GET", "/users", app_without), 403, "Authorization_RequestDenied")


# -- one user -------------------------------------------------------------------------------------


def test_a_user_is_found_by_id_or_principal_name(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _reader(emulator)
    by_upn = _call(http_emulator, emulator, "GET", "/users/LEE@contoso.test", token).json()
    by_id = _call(http_emulator, emulator, "GET", f"/users/{by_upn['id']}", token).json()
    assert by_upn == by_id
    assert by_id["@odata.context"].endswith("#users/$entity") and by_id["jobTitle"] == "Director of Engineering"


def test_an_unknown_user_is_a_404_with_graphs_message(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    msg = _error(_call(http_emulator, emulator, "GET", "/users/nobody@contoso.test", _reader(emulator)), 404, "Request_ResourceNotFound")
    assert msg == ("Resource 'nobody@contoso.test' does not exist or one of its queried reference-property "
                   "objects are not present.")


def test_me_returns_the_signed_in_user_with_user_read(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    body = _call(http_emulator, emulator, "GET", "/me?$select=displayName,mail", _token(emulator, "lidia@contoso.test", ("User.Read",))).json()
    assert body["displayName"] == "Lidia Holloway" and body["mail"] == "lidia@contoso.test"
    no_scope = _token(emulator, "lidia@contoso.test", ("Calendars.Read",))
    _error(_call(http_emulator, emulator, "GET", "/me", no_scope), 403, "Authorization_RequestDenied")


# -- writes ----------------------------------------------------------------------------------------

NEW_USER = {"accountEnabled": True, "displayName": "Nina Newcomer", "mailNickname": "nina",
            "userPrincipalName": "nina@contoso.test", "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d",
                                                                          "forceChangePasswordNextSignIn": True}}


def test_a_user_administrator_creates_a_user_who_can_then_be_read(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    megan = _token(emulator, "megan@contoso.test", ADMIN_SCOPES)
    resp = _call(http_emulator, emulator, "POST", "/users", megan, NEW_USER)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["userPrincipalName"] == "nina@contoso.test" and created["id"]
    assert "passwordProfile" not in created
    assert _call(http_emulator, emulator, "GET", f"/users/{created['id']}", megan).json()["displayName"] == "Nina Newcomer"
    assert len(_call(http_emulator, emulator, "GET", "/users", megan).json()["value"]) == 14


def test_creating_a_user_validates_required_fields_domain_and_uniqueness(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    adele = _token(emulator, "adele@contoso.test", ADMIN_SCOPES)
    missing = {k: v for k, v in NEW_USER.items() if k != "mailNickname"}
    assert "mailNickname" in _error(_call(http_emulator, emulator, "POST", "/users", adele, missing), 400, "Request_BadRequest")
    duplicate = {**NEW_USER, "userPrincipalName": "lee@contoso.test"}
    assert _error(_call(http_emulator, emulator, "POST", "/users", adele, duplicate), 400, "Request_BadRequest") == (
        "Another object with the same value for property userPrincipalName already exists.")
    foreign = {**NEW_USER, "userPrincipalName": "nina@fabrikam.test"}
    assert "domain portion" in _error(_call(http_emulator, emulator, "POST", "/users", adele, foreign), 400, "Request_BadRequest")


def test_a_delegated_caller_without_an_admin_role_cannot_write_users(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    lee = _token(emulator, "lee@contoso.test", ADMIN_SCOPES)  # the scope alone is not enough
    assert _error(_call(http_emulator, emulator, "POST", "/users", lee, NEW_USER), 403, "Authorization_RequestDenied") == (
        "Insufficient privileges to complete the operation.")
    _error(_call(http_emulator, emulator, "PATCH", "/users/alex@contoso.test", lee, {"jobTitle": "x"}), 403, "Authorization_RequestDenied")
    _error(_call(http_emulator, emulator, "DELETE", "/users/alex@contoso.test", lee), 403, "Authorization_RequestDenied")


def test_an_admin_without_the_write_scope_cannot_write_users(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    adele = _token(emulator, "adele@contoso.test", ("User.Read.All",))
    _error(_call(http_emulator, emulator, "POST", "/users", adele, NEW_USER), 403, "Authorization_RequestDenied")


def test_a_user_administrator_cannot_modify_a_global_administrator(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    megan = _token(emulator, "megan@contoso.test", ADMIN_SCOPES)
    _error(_call(http_emulator, emulator, "PATCH", "/users/adele@contoso.test", megan, {"jobTitle": "x"}), 403, "Authorization_RequestDenied")
    assert _call(http_emulator, emulator, "PATCH", "/users/alex@contoso.test", megan, {"jobTitle": "CMO"}).status_code == 204


def test_an_app_with_user_readwrite_all_updates_and_deletes_users(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    app = _token(emulator, None, roles=("User.ReadWrite.All",))
    resp = _call(http_emulator, emulator, "PATCH", "/users/alex@contoso.test", app, {"jobTitle": "CMO", "officeLocation": "B9"})
    assert resp.status_code == 204 and resp.content == b"" and resp.headers["request-id"]
    got = _call(http_emulator, emulator, "GET", "/users/alex@contoso.test?$select=jobTitle,officeLocation", app).json()
    assert (got["jobTitle"], got["officeLocation"]) == ("CMO", "B9")
    assert _call(http_emulator, emulator, "DELETE", "/users/alex@contoso.test", app).status_code == 204
    _error(_call(http_emulator, emulator, "GET", "/users/alex@contoso.test", app), 404, "Request_ResourceNotFound")
    _error(_call(http_emulator, emulator, "DELETE", "/users/alex@contoso.test", app), 404, "Request_ResourceNotFound")
    reader = _token(emulator, None, roles=("User.Read.All",))
    _error(_call(http_emulator, emulator, "PATCH", "/users/lee@contoso.test", reader, {"jobTitle": "x"}), 403, "Authorization_RequestDenied")


def test_patch_rejects_unknown_and_read_only_properties(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    app = _token(emulator, None, roles=("User.ReadWrite.All",))
    _error(_call(http_emulator, emulator, "PATCH", "/users/lee@contoso.test", app, {"shoeSize": 9}), 400, "Request_BadRequest")
    _error(_call(http_emulator, emulator, "PATCH", "/users/lee@contoso.test", app, {"id": "x"}), 400, "Request_BadRequest")
    _error(_call(http_emulator, emulator, "PATCH", "/users/lee@contoso.test", app, {"userPrincipalName": "adele@contoso.test"}),
           400, "Request_BadRequest")


def test_a_user_updates_their_own_profile_with_user_readwrite(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    lee = _token(emulator, "lee@contoso.test", ("User.ReadWrite",))
    assert _call(http_emulator, emulator, "PATCH", "/me", lee, {"mobilePhone": "+1 555 0100"}).status_code == 204
    assert _call(http_emulator, emulator, "GET", "/me", lee).json()["mobilePhone"] == "+1 555 0100"


# -- relationships -------------------------------------------------------------------------------


def test_manager_and_direct_reports_follow_the_seeded_chain(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _reader(emulator)
    manager = _call(http_emulator, emulator, "GET", "/users/lidia@contoso.test/manager", token).json()
    assert manager["displayName"] == "Lee Gu" and manager["@odata.type"] == "#microsoft.graph.user"
    reports = _call(http_emulator, emulator, "GET", "/users/lee@contoso.test/directReports", token).json()["value"]
    assert sorted(r["displayName"] for r in reports) == ["Lidia Holloway", "Lynne Robbins", "Nestor Wilke"]
    msg = _error(_call(http_emulator, emulator, "GET", "/users/adele@contoso.test/manager", token), 404, "Request_ResourceNotFound")
    assert msg.startswith("Resource 'manager' does not exist")


def test_me_manager_works_for_the_signed_in_user(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    lidia = _token(emulator, "lidia@contoso.test", ("User.Read",))
    assert _call(http_emulator, emulator, "GET", "/me/manager", lidia).json()["userPrincipalName"] == "lee@contoso.test"


def test_an_admin_sets_a_manager_by_reference(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    app = _token(emulator, None, roles=("User.ReadWrite.All",))
    adele = _call(http_emulator, emulator, "GET", "/users/adele@contoso.test", app).json()
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{adele['id']}"}
    assert _call(http_emulator, emulator, "PUT", "/users/lidia@contoso.test/manager/$ref", app, ref).status_code == 204
    assert _call(http_emulator, emulator, "GET", "/users/lidia@contoso.test/manager", app).json()["id"] == adele["id"]


def test_member_of_lists_groups_and_directory_roles_with_their_types(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    adele = _call(http_emulator, emulator, "GET", "/me/memberOf", _token(emulator, "adele@contoso.test", ("User.Read",))).json()["value"]
    kinds = {(m["@odata.type"], m["displayName"]) for m in adele}
    assert kinds == {("#microsoft.graph.group", "All Company"), ("#microsoft.graph.directoryRole", "Global Administrator")}
    lee = _call(http_emulator, emulator, "GET", "/users/lee@contoso.test/memberOf", _reader(emulator)).json()["value"]
    assert {m["displayName"] for m in lee} == {"Engineering", "All Company"}


def test_reading_someone_elses_relationships_needs_directory_read(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    only_me = _token(emulator, "lidia@contoso.test", ("User.Read",))
    _error(_call(http_emulator, emulator, "GET", "/users/lee@contoso.test/manager", only_me), 403, "Authorization_RequestDenied")
    _error(_call(http_emulator, emulator, "GET", "/users/lee@contoso.test/memberOf", only_me), 403, "Authorization_RequestDenied")


# -- photos -------------------------------------------------------------------------------------


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length = struct.unpack(">I", data[8:12])[0]
    assert data[12:16] == b"IHDR"
    assert zlib.crc32(data[12:16 + length]) & 0xFFFFFFFF == struct.unpack(">I", data[16 + length:20 + length])[0]
    return struct.unpack(">II", data[16:24])


def test_a_photo_has_metadata_and_valid_png_bytes_that_differ_per_user(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    lee = _token(emulator, "lee@contoso.test", ("User.Read", "User.ReadBasic.All"))
    meta = _call(http_emulator, emulator, "GET", "/me/photo", lee).json()
    assert meta["@odata.mediaContentType"] == "image/png"
    mine = _call(http_emulator, emulator, "GET", "/me/photo/$value", lee)
    assert mine.headers["content-type"] == "image/png"
    assert _png_size(mine.content) == (meta["width"], meta["height"])
    theirs = _call(http_emulator, emulator, "GET", "/users/adele@contoso.test/photo/$value", lee)
    assert theirs.status_code == 200 and theirs.content != mine.content


def test_a_user_without_a_photo_answers_image_not_found(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    lee = _token(emulator, "lee@contoso.test", ("User.Read", "User.ReadBasic.All"))
    _error(_call(http_emulator, emulator, "GET", "/users/lynne@contoso.test/photo/$value", lee), 404, "ImageNotFound")
    _error(_call(http_emulator, emulator, "GET", "/users/lynne@contoso.test/photo", lee), 404, "ImageNotFound")


def test_someone_elses_photo_needs_more_than_user_read(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    only_me = _token(emulator, "lee@contoso.test", ("User.Read",))
    _error(_call(http_emulator, emulator, "GET", "/users/adele@contoso.test/photo/$value", only_me), 403, "Authorization_RequestDenied")


def test_expanding_the_manager_inlines_it_and_omits_it_when_there_is_none(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _reader(emulator)
    lidia = _call(http_emulator, emulator, "GET", "/users/lidia@contoso.test?$expand=manager($select=id,displayName)", token).json()
    assert lidia["manager"]["displayName"] == "Lee Gu" and set(lidia["manager"]) == {"@odata.type", "id", "displayName"}
    listed = _call(http_emulator, emulator, "GET", "/users?$select=displayName&$expand=manager", token).json()["value"]
    managers = {u["displayName"]: u.get("manager", {}).get("displayName") for u in listed}
    assert managers["Adele Vance"] is None and managers["Nestor Wilke"] == "Lee Gu"
    _error(_call(http_emulator, emulator, "GET", "/users?$expand=photo", token), 400, "Request_BadRequest")


def test_transitive_member_of_answers_like_member_of(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    megan = _token(emulator, "megan@contoso.test", ("User.Read",))
    direct = _call(http_emulator, emulator, "GET", "/me/memberOf", megan).json()["value"]
    transitive = _call(http_emulator, emulator, "GET", "/me/transitiveMemberOf", megan).json()["value"]
    assert transitive == direct and {m["displayName"] for m in direct} == {"All Company", "User Administrator"}
