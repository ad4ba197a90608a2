"""OpenID discovery documents and signing keys."""

from __future__ import annotations

import base64

import jwt
import msal
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from emulator.identity.model import pairwise_sub


def test_it_describes_a_tenant_with_its_guid_issuer_and_its_own_endpoints(emulator, http_emulator):
    tid = emulator.info["tenant_id"]
    doc = http_emulator.get(f"{emulator.base_url}/{tid}/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{emulator.base_url}/{tid}/v2.0"
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint"):
        assert doc[key].startswith(f"{emulator.base_url}/{tid}/"), key
    assert doc["token_endpoint"].endswith("/oauth2/v2.0/token")
    assert "form_post" in doc["response_modes_supported"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]


def test_it_resolves_a_verified_domain_to_the_tenant_guid(emulator, http_emulator):
    doc = http_emulator.get(f"{emulator.base_url}/contoso.onmicrosoft.test/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{emulator.base_url}/{emulator.info['tenant_id']}/v2.0"
    assert f"/{emulator.info['tenant_id']}/oauth2/v2.0/authorize" in doc["authorization_endpoint"]


@pytest.mark.parametrize("meta", ["common", "organizations"])
def test_multi_tenant_endpoints_use_the_tenantid_placeholder_in_the_issuer(emulator, http_emulator, meta):
    doc = http_emulator.get(f"{emulator.base_url}/{meta}/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{emulator.base_url}/{{tenantid}}/v2.0"
    assert doc["token_endpoint"] == f"{emulator.base_url}/{meta}/oauth2/v2.0/token"


def test_an_unknown_tenant_gets_aadsts90002_in_entras_error_shape(emulator, http_emulator):
    resp = http_emulator.get(f"{emulator.base_url}/00000000-1111-2222-3333-444444444444/v2.0/.well-known/openid-configuration",
                    headers={"client-request-id": "corr-123"})
    assert resp.status_code == 400
    body = resp.json()
    assert body["error"] == "invalid_tenant"
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith("AADSTS90002: Tenant '00000000-1111-2222-3333-444444444444' not found.")
    assert "\r\nTrace ID: " in body["error_description"]
    assert body["correlation_id"] == "corr-123"
    assert {"timestamp", "trace_id", "error_uri"} <= set(body)


def test_the_keys_endpoint_publishes_the_signing_key(emulator, http_emulator):
    keys = http_emulator.get(f"{emulator.base_url}/{emulator.info['tenant_id']}/discovery/v2.0/keys").json()["keys"]
    assert [k["kid"] for k in keys] == [emulator.emulator.signer.kid]
    assert keys[0]["kty"] == "RSA" and keys[0]["use"] == "sig" and "d" not in keys[0]
    # As Entra lists its keys: the certificate and its thumbprint, the issuer, no alg or key_ops.
    assert keys[0]["x5t"] == keys[0]["kid"] and not {"alg", "key_ops"} & set(keys[0])
    cert = x509.load_der_x509_certificate(base64.b64decode(keys[0]["x5c"][0]))
    assert base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).decode().rstrip("=") == keys[0]["x5t"]
    assert jwt.PyJWK(keys[0], algorithm="RS256").key.public_numbers() == cert.public_key().public_numbers()
    assert keys[0]["issuer"] == f"{emulator.base_url}/{emulator.info['tenant_id']}/v2.0"
    common = http_emulator.get(f"{emulator.base_url}/common/discovery/v2.0/keys").json()["keys"]
    assert common[0]["issuer"] == f"{emulator.base_url}/{{tenantid}}/v2.0"
    assert http_emulator.get(f"{emulator.base_url}/nowhere.test/discovery/v2.0/keys").json()["error_codes"] == [90002]


def test_msal_accepts_the_common_authority(emulator, http_emulator):
    app = msal.ConfidentialClientApplication(
        emulator.info["client_id"], client_credential=emulator.info["client_secret"],
        authority=f"{emulator.base_url}/common", http_client=http_emulator, instance_discovery=False)
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri="http://localhost:8000/auth/microsoft/callback/")
    assert flow["auth_uri"].startswith(f"{emulator.base_url}/common/oauth2/v2.0/authorize?")


def test_the_userinfo_endpoint_answers_with_the_id_tokens_subject(emulator, http_emulator):
    doc = http_emulator.get(f"{emulator.base_url}/{emulator.info['tenant_id']}/v2.0/.well-known/openid-configuration").json()
    tenant = emulator.emulator.tenant(emulator.info["tenant_id"])
    diego = emulator.emulator.user(tenant, "diego@contoso.test")
    token, _ = emulator.emulator.issue_access_token(tenant["id"], emulator.info["client_id"], user=diego, scopes=["User.Read"])
    resp = http_emulator.get(doc["userinfo_endpoint"], headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["sub"] == pairwise_sub(diego["id"], emulator.info["client_id"])
    assert (body["name"], body["given_name"], body["family_name"], body["email"]) == (
        "Diego Siciliani", "Diego", "Siciliani", "diego@contoso.test")
    assert http_emulator.get(doc["userinfo_endpoint"]).status_code == 401
