"""The token endpoint: client authentication, authorization codes, PKCE, client credentials."""

from __future__ import annotations

import base64
import hashlib
import json

import jwt
import pytest

from tests.support.browser import APP_REDIRECT, Browser, authorize_url

VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode().rstrip("=")


def _token_url(emulator, tenant=None):
    return f"{emulator.base_url}/{tenant or emulator.info['tenant_id']}/oauth2/v2.0/token"


def _code(emulator, http_emulator, *, user="Diego Siciliani", **params):
    """An authorization code for a user whose scopes are already consented."""
    params.setdefault("scope", "openid profile email offline_access User.Read")
    url = authorize_url(emulator.base_url, emulator.info["tenant_id"], emulator.info["client_id"], **params)
    browser = Browser(http_emulator, emulator.base_url)
    return browser.press(browser.open(url), f"Sign in as {user}").callback["code"]


def _redeem(emulator, http_emulator, code, **extra):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": APP_REDIRECT,
            "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"], **extra}
    return http_emulator.post(_token_url(emulator), data=data)


def _verify(emulator, http_emulator, token, audience):
    doc = http_emulator.get(f"{emulator.base_url}/{emulator.info['tenant_id']}/v2.0/.well-known/openid-configuration").json()
    keys = http_emulator.get(doc["jwks_uri"]).json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [k for k in keys if k["kid"] == kid]
    key = jwt.PyJWK(jwk).key
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience,
                      options={"verify_iat": False, "verify_nbf": False, "verify_exp": False}), doc


def test_the_code_redeems_for_tokens_with_every_expected_field(emulator, http_emulator):
    resp = _redeem(emulator, http_emulator, _code(emulator, http_emulator), client_info="1")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 3000 and body["ext_expires_in"] == body["expires_in"]
    assert {"access_token", "refresh_token", "id_token", "client_info", "scope"} <= set(body)
    assert "User.Read" in body["scope"].split()
    info = json.loads(base64.urlsafe_b64decode(body["client_info"] + "=="))
    diego = emulator.emulator.user(emulator.emulator.tenant(emulator.info["tenant_id"]), "diego@contoso.test")
    assert info == {"uid": diego["id"], "utid": emulator.info["tenant_id"]}
    assert resp.headers["cache-control"].startswith("no-store")


def test_the_id_token_is_signed_by_the_published_key_and_carries_v2_claims(emulator, http_emulator):
    code = _code(emulator, http_emulator, nonce="n-0S6_WzA2Mj")
    id_token = _redeem(emulator, http_emulator, code).json()["id_token"]
    claims, doc = _verify(emulator, http_emulator, id_token, emulator.info["client_id"])
    tid = emulator.info["tenant_id"]
    diego = emulator.emulator.user(emulator.emulator.tenant(tid), "diego@contoso.test")
    assert claims["iss"] == doc["issuer"] == f"{emulator.base_url}/{tid}/v2.0"
    assert claims["aud"] == emulator.info["client_id"]
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["tid"] == tid and claims["oid"] == diego["id"]
    assert claims["preferred_username"] == "diego@contoso.test" and claims["name"] == "Diego Siciliani"
    assert claims["email"] == diego["mail"] and claims["ver"] == "2.0"
    assert claims["sub"] and claims["sub"] != diego["id"]  # pairwise, as Entra's
    assert claims["nbf"] <= claims["iat"] < claims["exp"]
    assert claims["sid"] and "auth_time" not in claims  # auth_time is an optional claim, off by default


def test_without_the_profile_scope_the_id_token_has_no_profile_claims(emulator, http_emulator):
    id_token = _redeem(emulator, http_emulator, _code(emulator, http_emulator, scope="openid offline_access User.Read")).json()["id_token"]
    claims, _ = _verify(emulator, http_emulator, id_token, emulator.info["client_id"])
    assert not {"name", "preferred_username", "email"} & set(claims)
    assert {"oid", "sub", "tid", "sid"} <= set(claims)


def test_the_access_token_is_a_delegated_graph_token(emulator, http_emulator):
    token = _redeem(emulator, http_emulator, _code(emulator, http_emulator)).json()["access_token"]
    claims, _ = _verify(emulator, http_emulator, token, "https://graph.microsoft.com")
    assert claims["ver"] == "1.0" and claims["appid"] == emulator.info["client_id"] and "azp" not in claims
    assert claims["idtyp"] == "user" and claims["upn"] == "diego@contoso.test"
    assert {"User.Read", "Calendars.ReadWrite"} <= set(claims["scp"].split())
    assert not any(s.startswith("https://") for s in claims["scp"].split())


def test_without_openid_or_offline_access_there_is_no_id_token_or_refresh_token(emulator, http_emulator):
    body = _redeem(emulator, http_emulator, _code(emulator, http_emulator, scope="User.Read")).json()
    assert "access_token" in body and "id_token" not in body and "refresh_token" not in body
    assert "client_info" not in body


def test_it_rejects_a_reused_code(emulator, http_emulator):
    code = _code(emulator, http_emulator)
    assert _redeem(emulator, http_emulator, code).status_code == 200
    again = _redeem(emulator, http_emulator, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant" and again.json()["error_codes"] == [54005]


def test_a_code_expires_after_ten_minutes(emulator, http_emulator):
    code = _code(emulator, http_emulator)
    emulator.emulator.clock_offset = 601
    resp = _redeem(emulator, http_emulator, code).json()
    assert resp["error"] == "invalid_grant" and resp["error_codes"] == [70008]


def test_a_code_is_still_good_just_before_ten_minutes(emulator, http_emulator):
    code = _code(emulator, http_emulator)
    emulator.emulator.clock_offset = 590
    assert _redeem(emulator, http_emulator, code).status_code == 200


def test_the_redirect_uri_must_equal_the_one_used_to_authorize(emulator, http_emulator):
    code = _code(emulator, http_emulator)
    resp = _redeem(emulator, http_emulator, code, redirect_uri="http://127.0.0.1:8000/auth/microsoft/callback/").json()
    assert resp["error"] == "invalid_grant" and resp["error_codes"] == [50011]


def test_an_unknown_code_is_invalid_grant(emulator, http_emulator):
    assert _redeem(emulator, http_emulator, "0.AQnot-a-code").json()["error"] == "invalid_grant"


def test_pkce_s256_verifier_must_match(emulator, http_emulator):
    code = _code(emulator, http_emulator, code_challenge=CHALLENGE, code_challenge_method="S256")
    bad = _redeem(emulator, http_emulator, code, code_verifier="w" * 50)
    assert bad.status_code == 400
    body = bad.json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [501481]
    assert body["error_description"].startswith(
        "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.")
    assert _redeem(emulator, http_emulator, code, code_verifier=VERIFIER).status_code == 200


def test_pkce_plain_is_supported_and_the_verifier_is_required(emulator, http_emulator):
    code = _code(emulator, http_emulator, code_challenge=VERIFIER, code_challenge_method="plain")
    missing = _redeem(emulator, http_emulator, code).json()
    assert missing["error"] == "invalid_request" and missing["error_codes"] == [900144]
    assert _redeem(emulator, http_emulator, code, code_verifier=VERIFIER).status_code == 200


def test_a_too_short_code_challenge_is_refused_at_authorize(emulator, http_emulator):
    url = authorize_url(emulator.base_url, emulator.info["tenant_id"], emulator.info["client_id"], code_challenge="short")
    cb = Browser(http_emulator, emulator.base_url).open(url).callback
    assert cb["error"] == "invalid_request" and "AADSTS501491" in cb["error_description"]


def test_a_wrong_secret_is_invalid_client_aadsts7000215_with_401(emulator, http_emulator):
    resp = _redeem(emulator, http_emulator, "x", client_secret="wrong")
    assert resp.status_code == 401
    assert resp.json()["error"] == "invalid_client" and resp.json()["error_codes"] == [7000215]
    assert "wrong" not in resp.text


def test_an_expired_secret_is_aadsts7000222(emulator, http_emulator):
    from emulator.seed import EXPIRED_CLIENT_SECRET

    resp = _redeem(emulator, http_emulator, "x", client_secret=EXPIRED_CLIENT_SECRET)
    assert resp.status_code == 401 and resp.json()["error_codes"] == [7000222]


def test_a_secret_expires_when_the_clock_moves_past_it(emulator, http_emulator):
    emulator.emulator.clock_offset = 400 * 86400
    resp = http_emulator.post(_token_url(emulator), data={"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
                                            "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"]})
    assert resp.json()["error_codes"] == [7000222]


def test_a_missing_secret_is_aadsts7000218(emulator, http_emulator):
    resp = _redeem(emulator, http_emulator, "x", client_secret="")
    assert resp.status_code == 401 and resp.json()["error_codes"] == [7000218]


def test_an_unknown_client_is_aadsts700016(emulator, http_emulator):
    resp = _redeem(emulator, http_emulator, "x", client_id="99999999-9999-9999-9999-999999999999")
    assert resp.status_code == 400
    assert resp.json()["error"] == "unauthorized_client" and resp.json()["error_codes"] == [700016]


def test_http_basic_client_authentication_works(emulator, http_emulator):
    code = _code(emulator, http_emulator)
    resp = http_emulator.post(_token_url(emulator), auth=(emulator.info["client_id"], emulator.info["client_secret"]),
                     data={"grant_type": "authorization_code", "code": code, "redirect_uri": APP_REDIRECT})
    assert resp.status_code == 200, resp.text
    bad = http_emulator.post(_token_url(emulator), auth=(emulator.info["client_id"], "nope"),
                    data={"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"})
    assert bad.status_code == 401 and bad.json()["error_codes"] == [7000215]


def test_errors_carry_entras_fields_and_echo_the_client_request_id(emulator, http_emulator):
    resp = http_emulator.post(_token_url(emulator), data={"client_id": emulator.info["client_id"]},
                     headers={"client-request-id": "11111111-aaaa-bbbb-cccc-222222222222"})
    body = resp.json()
    assert body["error"] == "invalid_request" and body["error_codes"] == [900144]
    assert body["error_description"].startswith("AADSTS900144: The request body must contain the following parameter: 'grant_type'.")
    lines = body["error_description"].split("\r\n")
    assert lines[1] == f"Trace ID: {body['trace_id']}"
    assert lines[2] == "Correlation ID: 11111111-aaaa-bbbb-cccc-222222222222"
    assert lines[3] == f"Timestamp: {body['timestamp']}"
    assert body["correlation_id"] == "11111111-aaaa-bbbb-cccc-222222222222"
    assert body["error_uri"].endswith("code=900144")


def test_an_unsupported_grant_type_is_refused(emulator, http_emulator):
    resp = http_emulator.post(_token_url(emulator), data={"grant_type": "password", "client_id": emulator.info["client_id"],
                                            "client_secret": emulator.info["client_secret"]})
    assert resp.json()["error"] == "unsupported_grant_type"


def test_the_token_endpoint_of_an_unknown_tenant_is_aadsts90002(emulator, http_emulator):
    resp = http_emulator.post(_token_url(emulator, "0b0b0b0b-0000-0000-0000-000000000000"), data={
        "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
        "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"]})
    assert resp.status_code == 400 and resp.json()["error_codes"] == [90002]


def test_a_single_tenant_app_cannot_use_the_common_token_endpoint(emulator, http_emulator):
    from emulator.seed import CLIENT_SECRET

    single = emulator.emulator.state["apps"][1]["client_id"]
    resp = http_emulator.post(_token_url(emulator, "common"), data={"grant_type": "authorization_code", "code": "x",
                                                      "redirect_uri": APP_REDIRECT, "client_id": single,
                                                      "client_secret": CLIENT_SECRET})
    assert resp.json()["error_codes"] == [50194]


# -- client credentials ------------------------------------------------------------------------


def test_client_credentials_gives_an_app_token_with_the_granted_roles(emulator, msal_client, http_emulator):
    result = msal_client.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in result and "refresh_token" not in result
    claims, _ = _verify(emulator, http_emulator, result["access_token"], "https://graph.microsoft.com")
    app = emulator.emulator.state["apps"][0]
    assert claims["roles"] == app["app_roles"][emulator.info["tenant_id"]]
    assert claims["idtyp"] == "app" and claims["tid"] == emulator.info["tenant_id"] and "scp" not in claims
    # The subject of an app-only token is the service principal, like its oid; not the client id.
    assert claims["sub"] == claims["oid"] != emulator.info["client_id"] and "azp" not in claims


def test_client_credentials_accepts_the_graph_app_id_as_resource(emulator, http_emulator):
    resp = http_emulator.post(_token_url(emulator), data={"grant_type": "client_credentials",
                                            "scope": "00000003-0000-0000-c000-000000000000/.default",
                                            "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"]})
    assert resp.status_code == 200


@pytest.mark.parametrize(("scope", "error", "code"), [
    ("https://graph.microsoft.com/User.Read", "invalid_scope", 1002012),
    ("User.Read", "invalid_scope", 1002012),
    ("https://storage.azure.com/.default", "invalid_resource", 500011),
    ("", "invalid_request", 900144),
])
def test_client_credentials_needs_a_default_scope_of_a_known_resource(emulator, http_emulator, scope, error, code):
    resp = http_emulator.post(_token_url(emulator), data={"grant_type": "client_credentials", "scope": scope,
                                            "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"]})
    assert resp.status_code == 400
    assert (resp.json()["error"], resp.json()["error_codes"]) == (error, [code])


def test_client_credentials_in_a_tenant_without_the_app_is_aadsts700016(emulator, http_emulator):
    resp = http_emulator.post(_token_url(emulator, emulator.info["second_tenant_id"]), data={
        "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
        "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"]})
    assert resp.json()["error"] == "unauthorized_client" and resp.json()["error_codes"] == [700016]


def test_client_credentials_on_common_has_no_tenant_aadsts50059(emulator, http_emulator):
    resp = http_emulator.post(_token_url(emulator, "organizations"), data={
        "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
        "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"]})
    assert resp.json()["error_codes"] == [50059]


def test_every_token_request_is_counted_by_grant_type(emulator, http_emulator, msal_client):
    msal_client.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    _redeem(emulator, http_emulator, "bad-code")
    _redeem(emulator, http_emulator, _code(emulator, http_emulator))
    http_emulator.post(_token_url(emulator), data={})
    grants = emulator.emulator.grants
    assert grants["client_credentials"] == 1
    assert grants["authorization_code"] == 2
    assert grants["(missing)"] == 1
