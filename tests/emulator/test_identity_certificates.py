"""Certificate credentials at the token endpoint: uploads through the control API, and client
assertions validated as Entra does (key, signature, audience, issuer, time, replay)."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import msal
import pytest

from membership.certificates import Certificate, generate

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _token_url(emulator):
    return f"{emulator.base_url}/{emulator.info['tenant_id']}/oauth2/v2.0/token"


def _upload(emulator, http_emulator, cert: Certificate):
    resp = http_emulator.post(f"{emulator.base_url}/_emulator/apps/{emulator.info['client_id']}/certificates", json={"pem": cert.pem})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _b64(hexdigest: str) -> str:
    return base64.urlsafe_b64encode(bytes.fromhex(hexdigest)).decode().rstrip("=")


def _assertion(emulator, key: str, cert: Certificate, *, alg="PS256", header=None, **claims):
    now = int(time.time())
    body = {"aud": _token_url(emulator), "iss": emulator.info["client_id"], "sub": emulator.info["client_id"],
            "jti": str(uuid.uuid4()), "nbf": now, "iat": now, "exp": now + 600, **claims}
    headers = header if header is not None else (
        {"x5t#S256": _b64(cert.thumbprint_sha256)} if alg == "PS256" else {"x5t": _b64(cert.thumbprint)})
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=alg, headers=headers)


def _app_token(emulator, http_emulator, assertion, **extra):
    data = {"grant_type": "client_credentials", "client_id": emulator.info["client_id"],
            "scope": "https://graph.microsoft.com/.default", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion, **extra}
    return http_emulator.post(_token_url(emulator), data=data)


@pytest.fixture
def registered(emulator, http_emulator):
    key, cert = generate("membership test")
    _upload(emulator, http_emulator, cert)
    return key, cert


def _code(resp) -> int:
    return resp.json()["error_codes"][0]


@pytest.mark.parametrize("alg", ["PS256", "RS256"])
def test_a_registered_certificate_gets_an_application_token_with_either_algorithm(emulator, http_emulator, registered, alg):
    resp = _app_token(emulator, http_emulator, _assertion(emulator, *registered, alg=alg))
    assert resp.status_code == 200, resp.text
    assert resp.json()["access_token"]


def test_the_upload_answers_the_thumbprints_the_portal_shows_and_lists_them(emulator, http_emulator):
    _, cert = generate("portal")
    entry = _upload(emulator, http_emulator, cert)
    assert entry["thumbprint"] == cert.thumbprint and entry["thumbprint"].isupper()
    assert entry["thumbprint_sha256"] == cert.thumbprint_sha256
    listed = http_emulator.get(f"{emulator.base_url}/_emulator/apps/{emulator.info['client_id']}/certificates").json()
    assert [c["thumbprint"] for c in listed["certificates"]] == [cert.thumbprint]


def test_the_upload_refuses_what_is_not_a_certificate(emulator, http_emulator):
    resp = http_emulator.post(f"{emulator.base_url}/_emulator/apps/{emulator.info['client_id']}/certificates", json={"pem": "x"})
    assert resp.status_code == 400


def test_an_unregistered_certificate_is_refused_with_700027(emulator, http_emulator, registered):
    key, cert = generate("not uploaded")
    resp = _app_token(emulator, http_emulator, _assertion(emulator, key, cert))
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
    assert _code(resp) == 700027 and "The key was not found" in resp.json()["error_description"]


def test_a_signature_by_another_key_is_refused_with_700027(emulator, http_emulator, registered):
    other_key, _ = generate("impostor")
    resp = _app_token(emulator, http_emulator, _assertion(emulator, other_key, registered[1]))
    assert _code(resp) == 700027 and "did not match" in resp.json()["error_description"]


def test_an_expired_certificate_is_refused_with_700027(emulator, http_emulator):
    key, cert = generate("old", validity=timedelta(days=30), now=datetime.now(UTC) - timedelta(days=60))
    _upload(emulator, http_emulator, cert)
    resp = _app_token(emulator, http_emulator, _assertion(emulator, key, cert))
    assert _code(resp) == 700027 and "expired" in resp.json()["error_description"]


def test_a_deleted_certificate_is_refused(emulator, http_emulator, registered):
    key, cert = registered
    assert http_emulator.delete(f"{emulator.base_url}/_emulator/apps/{emulator.info['client_id']}/certificates/"
                       f"{cert.thumbprint_sha256.lower()}").status_code == 200
    assert _code(_app_token(emulator, http_emulator, _assertion(emulator, key, cert))) == 700027


def test_an_assertion_outside_its_time_range_is_refused_with_700024(emulator, http_emulator, registered):
    past = int(time.time()) - 3600
    resp = _app_token(emulator, http_emulator, _assertion(emulator, *registered, nbf=past - 600, iat=past - 600, exp=past))
    assert _code(resp) == 700024
    future = int(time.time()) + 3600
    assert _code(_app_token(emulator, http_emulator, _assertion(emulator, *registered, nbf=future, exp=future + 600))) == 700024


def test_a_replayed_assertion_is_refused(emulator, http_emulator, registered):
    assertion = _assertion(emulator, *registered)
    assert _app_token(emulator, http_emulator, assertion).status_code == 200
    resp = _app_token(emulator, http_emulator, assertion)
    assert resp.status_code == 401 and _code(resp) == 50027 and "replayed" in resp.json()["error_description"]


def test_a_wrong_audience_is_refused_with_700023(emulator, http_emulator, registered):
    other = f"{emulator.base_url}/{emulator.info['second_tenant_id']}/oauth2/v2.0/token"
    assert _code(_app_token(emulator, http_emulator, _assertion(emulator, *registered, aud=other))) == 700023


def test_an_issuer_that_is_not_the_client_is_refused_with_700021(emulator, http_emulator, registered):
    stranger = "99999999-9999-9999-9999-999999999999"
    assert _code(_app_token(emulator, http_emulator, _assertion(emulator, *registered, iss=stranger, sub=stranger))) == 700021


@pytest.mark.parametrize("assertion", ["not-a-jwt", None])
def test_a_malformed_assertion_is_refused(emulator, http_emulator, registered, assertion):
    if assertion is None:  # a JWT without x5t / x5t#S256
        assertion = _assertion(emulator, *registered, header={})
    resp = _app_token(emulator, http_emulator, assertion)
    assert resp.status_code == 401 and _code(resp) == 50027


def test_a_wrong_assertion_type_is_refused(emulator, http_emulator, registered):
    resp = _app_token(emulator, http_emulator, _assertion(emulator, *registered), client_assertion_type="urn:example:saml")
    assert resp.status_code == 400 and _code(resp) == 90023


def test_msal_with_a_certificate_and_no_secret_gets_an_application_token(emulator, http_emulator, registered):
    key, cert = registered
    app = msal.ConfidentialClientApplication(
        emulator.info["client_id"], client_credential={"private_key": key, "public_certificate": cert.pem},
        authority=f"{emulator.base_url}/{emulator.info['tenant_id']}", http_client=http_emulator, instance_discovery=False)
    result = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
