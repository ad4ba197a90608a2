"""validate_id_token against the emulator's discovery and keys, with id_tokens signed here.

MSAL does not validate id_tokens, and in a real sign-in the emulator only ever signs good ones: each
rule the site applies is shown here with a token that breaks just that rule.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.cache import cache

from emulator.tokens import Signer
from membership import identity
from membership.failures import SignInFailure
from membership.identity import LEEWAY, validate_id_token
from membership.models import MicrosoftSettings
from tests.support.id_tokens import NONCE, id_token_claims, sign


@pytest.fixture
def fresh_keys() -> Iterator[None]:
    """Discovery and signing keys are cached for a day: each test fetches its own, and leaves none."""
    cache.clear()
    identity._http_cache.clear()
    yield
    cache.clear()
    identity._http_cache.clear()


@pytest.fixture
def site(microsoft: MicrosoftSettings, fresh_keys: None) -> MicrosoftSettings:
    return microsoft


def rejected(ms: MicrosoftSettings, token: str, nonce: str = NONCE) -> str:
    with pytest.raises(SignInFailure) as failure:
        validate_id_token(ms, token, nonce=nonce)
    return failure.value.code


def test_a_good_id_token_gives_its_claims(emulator: Any, site: MicrosoftSettings) -> None:
    claims = id_token_claims(emulator, site)
    assert validate_id_token(site, sign(emulator, claims), nonce=NONCE) == claims


@pytest.mark.parametrize("claim", ["iss", "aud", "exp", "iat", "tid", "oid", "nonce"])
def test_an_id_token_without_a_required_claim_is_rejected(emulator: Any, site: MicrosoftSettings, claim: str) -> None:
    token = sign(emulator, id_token_claims(emulator, site, drop=[claim]))
    assert rejected(site, token) == "user_profile_failed"


@pytest.mark.parametrize("claim", ["iss", "tid", "oid", "nonce"])
@pytest.mark.parametrize("value", [12345, ["a", "b"], None])
def test_a_claim_that_is_not_a_string_is_rejected(emulator: Any, site: MicrosoftSettings, claim: str,
                                                  value: Any) -> None:
    token = sign(emulator, id_token_claims(emulator, site, **{claim: value}))
    assert rejected(site, token) == "user_profile_failed"


@pytest.mark.parametrize("claim", ["tid", "oid"])
def test_a_tenant_or_object_id_that_is_not_a_guid_is_rejected(emulator: Any, site: MicrosoftSettings,
                                                               claim: str) -> None:
    changes: dict[str, Any] = {claim: "not-a-guid"}
    if claim == "tid":
        changes["iss"] = f"{emulator.base_url}/not-a-guid/v2.0"
    token = sign(emulator, id_token_claims(emulator, site, **changes))
    assert rejected(site, token) == "user_profile_failed"


def test_the_issuer_must_be_the_authoritys(emulator: Any, site: MicrosoftSettings) -> None:
    tid = emulator.info["tenant_id"]
    token = sign(emulator, id_token_claims(emulator, site, iss=f"{emulator.base_url}/{tid}/v2.0/"))
    assert rejected(site, token) == "user_profile_failed"


def test_through_organizations_the_issuer_must_name_the_tokens_own_tenant(emulator: Any,
                                                                          site: MicrosoftSettings) -> None:
    site.tenant = "organizations"
    site.save()
    other = emulator.info["second_tenant_id"]
    claims = id_token_claims(emulator, site, tid=other, iss=f"{emulator.base_url}/{other}/v2.0")
    assert validate_id_token(site, sign(emulator, claims), nonce=NONCE)["tid"] == other
    forged = id_token_claims(emulator, site, tid=other)  # the issuer still names the first tenant
    assert rejected(site, sign(emulator, forged)) == "user_profile_failed"


def test_a_token_for_another_audience_is_rejected(emulator: Any, site: MicrosoftSettings) -> None:
    token = sign(emulator, id_token_claims(emulator, site, aud="00000000-0000-0000-0000-000000000009"))
    assert rejected(site, token) == "user_profile_failed"


@pytest.mark.parametrize(("aud", "azp", "accepted"), [
    ("client", "client", True),
    ("client", "00000000-0000-0000-0000-000000000009", False),  # a single audience, another client's azp
    ("both", None, False),
    ("both", "client", True),
])
def test_azp_must_be_this_client_when_present_or_when_there_are_several_audiences(
        emulator: Any, site: MicrosoftSettings, aud: str, azp: str | None, accepted: bool) -> None:
    changes: dict[str, Any] = {"aud": site.client_id if aud == "client"
                               else [site.client_id, "00000000-0000-0000-0000-000000000009"]}
    if azp is not None:
        changes["azp"] = site.client_id if azp == "client" else azp
    token = sign(emulator, id_token_claims(emulator, site, **changes))
    if accepted:
        assert validate_id_token(site, token, nonce=NONCE)["aud"] == changes["aud"]
    else:
        assert rejected(site, token) == "user_profile_failed"


def test_the_nonce_must_be_the_flows(emulator: Any, site: MicrosoftSettings) -> None:
    # In a sign-in MSAL compares the nonce first; the site's own check must hold without it.
    token = sign(emulator, id_token_claims(emulator, site))
    assert rejected(site, token, nonce="another-flows-nonce") == "user_profile_failed"


@pytest.mark.parametrize(("expired_ago", "accepted"), [(LEEWAY // 2, True), (LEEWAY + 60, False), (3000, False)])
def test_an_expired_token_is_accepted_only_within_two_minutes_of_clock_skew(
        emulator: Any, site: MicrosoftSettings, expired_ago: int, accepted: bool) -> None:
    now = int(time.time())
    token = sign(emulator, id_token_claims(emulator, site, exp=now - expired_ago, iat=now - 3600, nbf=now - 3600))
    if accepted:
        validate_id_token(site, token, nonce=NONCE)
    else:
        assert rejected(site, token) == "user_profile_failed"


@pytest.mark.parametrize(("ahead", "accepted"), [(LEEWAY // 2, True), (LEEWAY + 60, False), (3000, False)])
def test_a_token_issued_in_the_future_is_accepted_only_within_two_minutes_of_clock_skew(
        emulator: Any, site: MicrosoftSettings, ahead: int, accepted: bool) -> None:
    now = int(time.time())
    token = sign(emulator, id_token_claims(emulator, site, iat=now + ahead, nbf=now))
    if accepted:
        validate_id_token(site, token, nonce=NONCE)
    else:
        assert rejected(site, token) == "user_profile_failed"


def test_a_tenant_outside_the_allow_list_is_not_allowed(emulator: Any, site: MicrosoftSettings) -> None:
    claims = id_token_claims(emulator, site)
    site.allowed_tenant_ids = emulator.info["second_tenant_id"]
    site.save()
    assert rejected(site, sign(emulator, claims)) == "tenant_not_allowed"
    site.allowed_tenant_ids = f"{emulator.info['second_tenant_id']}\n{emulator.info['tenant_id']}"
    site.save()
    assert validate_id_token(site, sign(emulator, claims), nonce=NONCE)["tid"] == emulator.info["tenant_id"]


def _unsigned(claims: dict[str, Any], kid: str) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{part(claims)}."


def test_an_unsigned_token_is_rejected(emulator: Any, site: MicrosoftSettings) -> None:
    token = _unsigned(id_token_claims(emulator, site), emulator.emulator.signer.kid)
    assert rejected(site, token) == "user_profile_failed"


def test_a_token_signed_with_a_shared_secret_is_rejected(emulator: Any, site: MicrosoftSettings) -> None:
    token = sign(emulator, id_token_claims(emulator, site), key="a-shared-secret-anyone-could-know",
                 algorithm="HS256")
    assert rejected(site, token) == "user_profile_failed"


def test_a_token_signed_by_another_key_under_the_published_kid_is_rejected(emulator: Any,
                                                                            site: MicrosoftSettings) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert rejected(site, sign(emulator, id_token_claims(emulator, site), key=other)) == "user_profile_failed"


def test_an_unknown_key_is_looked_up_once_more_then_rejected(emulator: Any, site: MicrosoftSettings,
                                                            http_emulator: Any) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    validate_id_token(site, sign(emulator, id_token_claims(emulator, site)), nonce=NONCE)  # keys now cached
    http_emulator.delete(f"{emulator.base_url}/_emulator/counters")
    token = sign(emulator, id_token_claims(emulator, site), key=other, kid="a-key-nobody-published")
    assert rejected(site, token) == "user_profile_failed"
    requests = http_emulator.get(f"{emulator.base_url}/_emulator/counters").json()["requests"]
    assert sum(n for route, n in requests.items() if route.endswith("/keys")) == 1


def test_a_key_rollover_is_followed(emulator: Any, site: MicrosoftSettings) -> None:
    emu = emulator.emulator
    old = emu.signer
    validate_id_token(site, sign(emulator, id_token_claims(emulator, site)), nonce=NONCE)  # old keys cached
    emu.signer = Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    try:
        claims = id_token_claims(emulator, site)
        assert validate_id_token(site, sign(emulator, claims), nonce=NONCE) == claims
    finally:
        emu.signer = old


@pytest.mark.parametrize(("status", "code"), [(503, "access_token_failed"), (500, "access_token_failed"),
                                              (404, "tenant_not_found"), (400, "tenant_not_found")])
def test_a_discovery_failure_is_named_and_not_cached(emulator: Any, site: MicrosoftSettings, http_emulator: Any,
                                                     status: int, code: str) -> None:
    http_emulator.post(f"{emulator.base_url}/_emulator/faults", json={
        "kind": "status", "status": status, "path": "/*/v2.0/.well-known/openid-configuration", "count": 1})
    token = sign(emulator, id_token_claims(emulator, site))
    assert rejected(site, token) == code
    assert validate_id_token(site, token, nonce=NONCE)["oid"]  # the error answer was not kept


@pytest.mark.parametrize("status", [503, 404])
def test_a_signing_keys_failure_is_unavailable_and_not_cached(emulator: Any, site: MicrosoftSettings,
                                                              http_emulator: Any, status: int) -> None:
    http_emulator.post(f"{emulator.base_url}/_emulator/faults", json={
        "kind": "status", "status": status, "path": "/*/discovery/v2.0/keys", "count": 1})
    token = sign(emulator, id_token_claims(emulator, site))
    assert rejected(site, token) == "access_token_failed"  # the tenant answered discovery: Microsoft is at fault
    assert validate_id_token(site, token, nonce=NONCE)["oid"]


def test_discovery_and_keys_are_fetched_once_a_day(emulator: Any, site: MicrosoftSettings, http_emulator: Any) -> None:
    validate_id_token(site, sign(emulator, id_token_claims(emulator, site)), nonce=NONCE)
    http_emulator.delete(f"{emulator.base_url}/_emulator/counters")
    validate_id_token(site, sign(emulator, id_token_claims(emulator, site)), nonce=NONCE)
    requests = http_emulator.get(f"{emulator.base_url}/_emulator/counters").json()["requests"]
    assert [route for route in requests if not route.startswith("GET /_emulator")] == []
