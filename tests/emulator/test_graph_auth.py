"""Graph authorization: token validation, correlation headers, tenant isolation, /me for apps."""

from __future__ import annotations

import time
from typing import Any

import jwt
import requests

from emulator.server import RunningEmulator

CONTOSO = "contoso.test"


def _tenant(emulator: RunningEmulator, domain: str = CONTOSO) -> dict[str, Any]:
    tenant = emulator.emulator.tenant(domain)
    assert tenant is not None
    return tenant


def _token(emulator: RunningEmulator, upn: str | None, scopes: tuple[str, ...] = (), roles: tuple[str, ...] = (),
           domain: str = CONTOSO, lifetime: int = 3599) -> str:
    tenant = _tenant(emulator, domain)
    app = emulator.info["client_id"]
    if upn is None:
        return emulator.emulator.issue_access_token(tenant["id"], app, roles=list(roles), lifetime=lifetime)[0]
    user = emulator.emulator.user(tenant, upn)
    assert user is not None
    return emulator.emulator.issue_access_token(tenant["id"], app, user=user, scopes=list(scopes), lifetime=lifetime)[0]


def _get(http_emulator: requests.Session, emulator: RunningEmulator, path: str, token: str | None, **headers: str) -> requests.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http_emulator.get(f"{emulator.base_url}/v1.0{path}", headers=headers)


def test_a_request_without_a_token_is_rejected_with_a_bearer_challenge(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    resp = _get(http_emulator, emulator, "/me", None)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert resp.json()["error"]["message"] == "Access token is empty."
    assert resp.headers["WWW-Authenticate"].startswith("Bearer ")
    assert 'client_id="00000003-0000-0000-c000-000000000000"' in resp.headers["WWW-Authenticate"]


def test_a_malformed_token_is_rejected(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    resp = _get(http_emulator, emulator, "/me", "not-a-jwt")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "not well formed" in resp.json()["error"]["message"]


def test_a_token_signed_by_another_key_is_rejected(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    good = _token(emulator, "lee@contoso.test", ("User.Read",))
    claims = jwt.decode(good, options={"verify_signature": False})
    forged = jwt.encode(claims, "some-shared-secret-that-is-long-enough-for-hs256", algorithm="HS256",
                        headers={"kid": jwt.get_unverified_header(good)["kid"]})
    resp = _get(http_emulator, emulator, "/me", forged)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_an_expired_token_is_rejected_even_after_it_was_once_accepted(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "lee@contoso.test", ("User.Read",), lifetime=600)
    assert _get(http_emulator, emulator, "/me", token).status_code == 200
    emulator.emulator.clock_offset = 601
    resp = _get(http_emulator, emulator, "/me", token)
    assert resp.status_code == 401
    assert resp.json()["error"]["message"] == "Lifetime validation failed, the token is expired."
    assert "WWW-Authenticate" in resp.headers


def test_a_token_for_another_audience_is_rejected(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    tenant = _tenant(emulator)
    now = int(time.time())
    token = emulator.emulator.signer.sign({"aud": "api://something-else", "tid": tenant["id"], "idtyp": "app",
                                      "roles": ["User.Read.All"], "iat": now, "nbf": now, "exp": now + 600})
    resp = _get(http_emulator, emulator, "/users", token)
    assert resp.status_code == 401
    assert "Invalid audience" in resp.json()["error"]["message"]


def test_every_answer_carries_a_request_id_and_echoes_the_client_request_id(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "lee@contoso.test", ("User.Read",))
    ok = _get(http_emulator, emulator, "/me", token, **{"client-request-id": "c0ffee00-0000-4000-8000-000000000001"})
    err = _get(http_emulator, emulator, "/users/nobody@contoso.test", token, **{"client-request-id": "c0ffee00-0000-4000-8000-000000000002"})
    assert ok.status_code == 200 and err.status_code == 403
    assert ok.headers["client-request-id"] == "c0ffee00-0000-4000-8000-000000000001"
    assert err.headers["client-request-id"] == "c0ffee00-0000-4000-8000-000000000002"
    assert ok.headers["request-id"] and err.headers["request-id"] and ok.headers["request-id"] != err.headers["request-id"]
    inner = err.json()["error"]["innerError"]
    assert inner["request-id"] == err.headers["request-id"]
    assert inner["client-request-id"] == "c0ffee00-0000-4000-8000-000000000002"
    # Without one, Graph still names a client-request-id: the request-id.
    anonymous = _get(http_emulator, emulator, "/users/nobody@contoso.test", token)
    inner = anonymous.json()["error"]["innerError"]
    assert inner["client-request-id"] == inner["request-id"] == anonymous.headers["client-request-id"]


def test_me_is_refused_for_an_app_only_token(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, None, roles=("User.Read.All",))
    resp = _get(http_emulator, emulator, "/me", token)
    assert resp.status_code == 400
    assert resp.json()["error"] == {**resp.json()["error"], "code": "BadRequest",
                                    "message": "/me request is only valid with delegated authentication flow."}


def test_a_token_only_sees_its_own_tenant(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    fabrikam_app = _token(emulator, None, roles=("User.Read.All",), domain="fabrikam.test")
    listed = _get(http_emulator, emulator, "/users", fabrikam_app).json()["value"]
    assert {u["userPrincipalName"] for u in listed} == {"fiona@fabrikam.test", "gus@fabrikam.test", "hana@fabrikam.test"}
    resp = _get(http_emulator, emulator, "/users/lee@contoso.test", fabrikam_app)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "Request_ResourceNotFound"


def test_a_token_for_a_deleted_user_stops_working(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "lynne@contoso.test", ("User.Read",))
    tenant = _tenant(emulator)
    tenant["users"] = [u for u in tenant["users"] if u["userPrincipalName"] != "lynne@contoso.test"]
    assert _get(http_emulator, emulator, "/me", token).status_code == 401


def test_an_unknown_graph_path_answers_in_graph_shape(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "lee@contoso.test", ("User.Read",))
    resp = _get(http_emulator, emulator, "/me/nonsenseSegment/deeper/still", token)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "BadRequest"
    assert resp.headers["request-id"]
