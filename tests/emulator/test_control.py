"""The /_emulator control API, faults and counters."""

from __future__ import annotations

import copy
import time

import jwt
import pytest
import requests

from tests.support.browser import APP_REDIRECT, Browser, authorize_url


def _ctl(emulator, path):
    return f"{emulator.base_url}/_emulator{path}"


def _keys_url(emulator):
    return f"{emulator.base_url}/{emulator.info['tenant_id']}/discovery/v2.0/keys"


def _token(emulator, http_emulator):
    return http_emulator.post(f"{emulator.base_url}/{emulator.info['tenant_id']}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
        "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"]})


def test_health_reports_ok_and_the_base_url(emulator, http_emulator):
    body = http_emulator.get(_ctl(emulator, "/health")).json()
    assert body["status"] == "ok" and body["base_url"] == emulator.base_url
    assert emulator.info["tenant_id"] in body["tenants"]


def test_reset_forgets_consent_codes_and_settings(emulator, http_emulator):
    http_emulator.post(_ctl(emulator, "/settings"), json={"auto_approve": True, "strict_rotation": True,
                                                          "groups_claim_limit": 3})
    url = authorize_url(emulator.base_url, emulator.info["tenant_id"], emulator.info["client_id"], scope="openid Calendars.Read",
                        login_hint="alex@contoso.test")
    Browser(http_emulator, emulator.base_url).open(url)
    app = emulator.emulator.state["apps"][0]
    assert any("Calendars.Read" in s for s in app["delegated_user_consent"][emulator.info["tenant_id"]].values())
    assert http_emulator.post(_ctl(emulator, "/reset")).json()["status"] == "reset"
    app = emulator.emulator.state["apps"][0]
    assert not any("Calendars.Read" in s for s in app["delegated_user_consent"][emulator.info["tenant_id"]].values())
    assert http_emulator.get(_ctl(emulator, "/settings")).json() == {
        "auto_approve": False, "strict_rotation": False, "clock_offset_seconds": 0.0, "id_token_tamper": {},
        "groups_claim_limit": 200}


def test_reset_with_a_seed_replaces_the_directory(emulator, http_emulator):
    original = emulator.emulator.initial_seed
    seed = copy.deepcopy(original)
    seed["tenants"] = seed["tenants"][:1]
    seed["tenants"][0]["users"] = seed["tenants"][0]["users"][:2]
    try:
        body = http_emulator.post(_ctl(emulator, "/reset"), json=seed).json()
        assert body["tenants"] == [emulator.info["tenant_id"]]
        page = Browser(http_emulator, emulator.base_url).open(
            authorize_url(emulator.base_url, emulator.info["tenant_id"], emulator.info["client_id"]))
        assert page.html.count("Sign in as ") == 2
        assert http_emulator.post(_ctl(emulator, "/reset"), json={"tenants": "x"}).status_code == 400
    finally:
        emulator.emulator.reset(original)


def test_settings_round_trip_and_reject_bad_values(emulator, http_emulator):
    body = http_emulator.post(_ctl(emulator, "/settings"), json={"auto_approve": True, "clock_offset_seconds": 3600,
                                                                 "groups_claim_limit": 5}).json()
    assert body == {"auto_approve": True, "strict_rotation": False, "clock_offset_seconds": 3600.0, "id_token_tamper": {},
                    "groups_claim_limit": 5}
    assert emulator.emulator.auto_approve is True and emulator.emulator.clock_offset == 3600
    assert http_emulator.get(_ctl(emulator, "/settings")).json() == body
    assert http_emulator.post(_ctl(emulator, "/settings"), json={"auto_approve": "yes"}).status_code == 400
    assert http_emulator.post(_ctl(emulator, "/settings"), json={"colour": "blue"}).status_code == 400
    assert http_emulator.post(_ctl(emulator, "/settings"), json={"groups_claim_limit": -1}).status_code == 400
    assert http_emulator.post(_ctl(emulator, "/settings"), data="{not json").status_code == 400


def test_the_clock_offset_moves_token_times(emulator, http_emulator):
    http_emulator.post(_ctl(emulator, "/settings"), json={"clock_offset_seconds": 86400})
    claims = jwt.decode(_token(emulator, http_emulator).json()["access_token"], options={"verify_signature": False})
    assert claims["iat"] > time.time() + 86000


def test_faults_are_listed_and_deleted_one_by_one_or_all(emulator, http_emulator):
    a = http_emulator.post(_ctl(emulator, "/faults"), json={"kind": "status", "status": 503, "path": "/nowhere*"})
    assert a.status_code == 201
    b = http_emulator.post(_ctl(emulator, "/faults"), json={"kind": "latency", "latency_ms": 5, "path": "/elsewhere*", "rate": 0.5})
    listed = http_emulator.get(_ctl(emulator, "/faults")).json()["faults"]
    assert [f["id"] for f in listed] == [a.json()["id"], b.json()["id"]]
    assert listed[1]["rate"] == 0.5 and listed[1]["count"] is None
    assert http_emulator.delete(_ctl(emulator, f"/faults/{a.json()['id']}")).json() == {"removed": 1}
    assert http_emulator.delete(_ctl(emulator, "/faults/nope")).status_code == 404
    assert http_emulator.delete(_ctl(emulator, "/faults")).json() == {"removed": 1}
    assert http_emulator.get(_ctl(emulator, "/faults")).json() == {"faults": []}


@pytest.mark.parametrize("bad", [
    {"kind": "explode"},
    {"kind": "status", "status": 200},
    {"kind": "status", "rate": 2},
    {"kind": "status", "rate": 0.5, "count": 3},
    {"kind": "status", "count": 0},
    {"kind": "latency", "latency_ms": -1},
    {"kind": "status", "path": "/_emulator/*"},
    {"kind": "status", "wat": 1},
])
def test_a_malformed_fault_is_refused(emulator, http_emulator, bad):
    assert http_emulator.post(_ctl(emulator, "/faults"), json=bad).status_code == 400


def test_a_429_fault_answers_with_retry_after_in_entras_shape(emulator, http_emulator):
    http_emulator.post(_ctl(emulator, "/faults"), json={"kind": "status", "status": 429, "retry_after": 7,
                                          "path": "/*/oauth2/v2.0/token", "method": "POST"})
    resp = _token(emulator, http_emulator)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"
    assert resp.json()["error"] == "temporarily_unavailable" and resp.json()["error_codes"]
    assert _token(emulator, http_emulator).status_code == 200  # count defaults to one


@pytest.mark.parametrize("status", [503, 504])
def test_a_server_error_fault_fires_the_given_number_of_times(emulator, http_emulator, status):
    http_emulator.post(_ctl(emulator, "/faults"), json={"kind": "status", "status": status, "path": "/*/discovery/*", "count": 2})
    assert [http_emulator.get(_keys_url(emulator)).status_code for _ in range(3)] == [status, status, 200]
    assert http_emulator.get(_ctl(emulator, "/faults")).json()["faults"][0]["fired"] == 2


def test_a_fault_only_matches_its_method(emulator, http_emulator):
    http_emulator.post(_ctl(emulator, "/faults"), json={"kind": "status", "status": 503, "path": "*", "method": "POST"})
    assert http_emulator.get(_keys_url(emulator)).status_code == 200
    assert _token(emulator, http_emulator).status_code == 503


def test_a_latency_fault_delays_the_answer(emulator, http_emulator):
    http_emulator.get(_keys_url(emulator))
    http_emulator.post(_ctl(emulator, "/faults"), json={"kind": "latency", "latency_ms": 300, "path": "/*/discovery/*"})
    started = time.perf_counter()
    assert http_emulator.get(_keys_url(emulator)).status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    http_emulator.get(_keys_url(emulator))
    assert time.perf_counter() - started < 0.25


def test_a_reset_fault_drops_the_connection(emulator, http_emulator):
    http_emulator.post(_ctl(emulator, "/faults"), json={"kind": "reset", "path": "/*/discovery/*"})
    with pytest.raises(requests.ConnectionError):
        http_emulator.get(_keys_url(emulator))
    assert http_emulator.get(_keys_url(emulator)).status_code == 200


def test_a_fault_with_a_rate_fires_for_about_that_share_of_requests(emulator, http_emulator):
    http_emulator.post(_ctl(emulator, "/faults"), json={"kind": "status", "status": 503, "path": "/*/discovery/*", "rate": 0.5})
    codes = [http_emulator.get(_keys_url(emulator)).status_code for _ in range(200)]
    assert 50 <= codes.count(503) <= 150 and codes.count(200) == 200 - codes.count(503)


def test_a_fault_with_rate_one_always_fires_and_stays(emulator, http_emulator):
    http_emulator.post(_ctl(emulator, "/faults"), json={"kind": "status", "status": 503, "path": "/*/discovery/*", "rate": 1})
    assert {http_emulator.get(_keys_url(emulator)).status_code for _ in range(5)} == {503}


def test_invalid_grant_control_validates_the_user_and_code(emulator, http_emulator):
    assert http_emulator.post(_ctl(emulator, "/users/nobody@contoso.test/invalid-grant"), json={"code": 50173}).status_code == 404
    assert http_emulator.post(_ctl(emulator, "/users/alex@contoso.test/invalid-grant"), json={"code": 123}).status_code == 400
    assert http_emulator.delete(_ctl(emulator, "/users/nobody@contoso.test/invalid-grant")).status_code == 404


def test_minted_delegated_tokens_carry_the_user_and_scopes(emulator, http_emulator):
    body = http_emulator.post(_ctl(emulator, "/tokens"), json={"user": "lee@contoso.test", "scopes": ["User.Read", "Calendars.Read"]}).json()
    claims = emulator.emulator.signer.verify(body["access_token"], now=emulator.emulator.now(), audience="https://graph.microsoft.com")
    assert claims["upn"] == "lee@contoso.test" and claims["scp"] == "User.Read Calendars.Read"
    assert body["tenant_id"] == emulator.info["tenant_id"]


def test_minted_app_tokens_carry_the_granted_roles_or_the_given_ones(emulator, http_emulator):
    body = http_emulator.post(_ctl(emulator, "/tokens"), json={"tenant": "contoso.test"}).json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["roles"] == emulator.emulator.state["apps"][0]["app_roles"][emulator.info["tenant_id"]]
    custom = http_emulator.post(_ctl(emulator, "/tokens"), json={"tenant": "fabrikam.test", "roles": ["User.Read.All"]}).json()
    assert jwt.decode(custom["access_token"], options={"verify_signature": False})["roles"] == ["User.Read.All"]


@pytest.mark.parametrize("bad", [{"user": "nobody@x.test"}, {"tenant": "nowhere.test"},
                                 {"user": "lee@contoso.test", "scopes": ["Nope.Nothing"]},
                                 {"client_id": "nope"}])
def test_minting_refuses_unknown_users_tenants_scopes_and_apps(emulator, http_emulator, bad):
    assert http_emulator.post(_ctl(emulator, "/tokens"), json=bad).status_code == 400


def test_counters_count_requests_by_route_and_grants_by_type(emulator, http_emulator):
    http_emulator.delete(_ctl(emulator, "/counters"))
    http_emulator.get(_keys_url(emulator))
    http_emulator.get(_keys_url(emulator))
    _token(emulator, http_emulator)
    body = http_emulator.get(_ctl(emulator, "/counters")).json()
    assert body["requests"]["GET /{tenant}/discovery/v2.0/keys"] == 2
    assert body["requests"]["POST /{tenant}/oauth2/v2.0/token"] == 1
    assert body["grants"] == {"client_credentials": 1}
    http_emulator.delete(_ctl(emulator, "/counters"))
    after = http_emulator.get(_ctl(emulator, "/counters")).json()
    assert after["grants"] == {} and "GET /{tenant}/discovery/v2.0/keys" not in after["requests"]


def test_the_authorize_log_records_what_the_app_asked_for(emulator, http_emulator):
    url = authorize_url(emulator.base_url, "organizations", emulator.info["client_id"], scope="openid User.Read Calendars.Read",
                        prompt="select_account", response_mode="form_post", login_hint="lee@contoso.test")
    Browser(http_emulator, emulator.base_url).open(url)
    (entry,) = http_emulator.get(_ctl(emulator, "/authorize-log")).json()["requests"]
    assert entry["client_id"] == emulator.info["client_id"] and entry["tenant"] == "organizations"
    assert entry["scope"] == "openid User.Read Calendars.Read"
    assert (entry["prompt"], entry["response_mode"], entry["login_hint"]) == ("select_account", "form_post", "lee@contoso.test")
    assert entry["redirect_uri"] == APP_REDIRECT
    http_emulator.delete(_ctl(emulator, "/authorize-log"))
    assert http_emulator.get(_ctl(emulator, "/authorize-log")).json() == {"requests": []}


def test_id_token_tampering_is_set_and_validated(emulator, http_emulator):
    ok = http_emulator.post(_ctl(emulator, "/settings"), json={"id_token_tamper": {"aud": "someone-else", "rogue_key": True}})
    assert ok.json()["id_token_tamper"] == {"aud": "someone-else", "rogue_key": True}
    bad = http_emulator.post(_ctl(emulator, "/settings"), json={"id_token_tamper": {"sub": "x"}})
    assert bad.status_code == 400


def test_a_slow_response_fault_does_the_work_then_answers_late(emulator, http_emulator):
    import time

    token, _ = emulator.emulator.issue_access_token(emulator.info["tenant_id"], emulator.info["client_id"], roles=["Calendars.ReadWrite"])
    http_emulator.post(_ctl(emulator, "/faults"), json={"kind": "slow_response", "latency_ms": 1500, "path": "/v1.0/users/*/events",
                                          "method": "POST", "count": 1})
    event = {"subject": "Late", "start": {"dateTime": "2030-01-01T09:00:00", "timeZone": "UTC"},
             "end": {"dateTime": "2030-01-01T10:00:00", "timeZone": "UTC"}}
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        http_emulator.post(f"{emulator.base_url}/v1.0/users/lee@contoso.test/events", json=event,
                  headers={"Authorization": f"Bearer {token}"}, timeout=0.5)
    assert time.monotonic() - started < 1.4
    listed = http_emulator.get(f"{emulator.base_url}/v1.0/users/lee@contoso.test/events?$filter=subject eq 'Late'",
                      headers={"Authorization": f"Bearer {token}"}).json()
    assert [e["subject"] for e in listed["value"]] == ["Late"]  # created although the client never heard back


def test_refresh_tokens_can_be_minted_in_bulk_and_redeemed(emulator, http_emulator):
    minted = http_emulator.post(_ctl(emulator, "/refresh-tokens"), json={"user": "lee@contoso.test", "scopes": ["User.Read"],
                                                            "count": 3}).json()
    assert len(set(minted["refresh_tokens"])) == 3
    answer = http_emulator.post(f"{emulator.base_url}/{emulator.info['tenant_id']}/oauth2/v2.0/token", data={
        "grant_type": "refresh_token", "refresh_token": minted["refresh_tokens"][1], "scope": "User.Read",
        "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"]}).json()
    assert answer["token_type"] == "Bearer" and answer["refresh_token"]
    assert http_emulator.post(_ctl(emulator, "/refresh-tokens"), json={"user": "nobody@contoso.test"}).status_code == 400
    assert http_emulator.post(_ctl(emulator, "/refresh-tokens"), json={"user": "lee@contoso.test", "count": 0}).status_code == 400


def test_a_request_delayed_by_latency_is_dropped_when_its_client_gives_up(emulator, http_emulator):
    import time

    emulator.emulator.grants.clear()
    http_emulator.post(_ctl(emulator, "/faults"), json={"kind": "latency", "latency_ms": 800, "path": "/*/oauth2/v2.0/token",
                                          "count": 1})
    with pytest.raises(requests.ReadTimeout):
        http_emulator.post(f"{emulator.base_url}/{emulator.info['tenant_id']}/oauth2/v2.0/token", timeout=0.3, data={
            "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
            "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"]})
    time.sleep(1.0)  # past the latency: the request would have been handled by now
    assert emulator.emulator.grants["client_credentials"] == 0
    assert _token(emulator, http_emulator).status_code == 200  # a client that waits is answered as usual
    assert emulator.emulator.grants["client_credentials"] == 1
