"""The MSAL application (with the site's one client credential), OpenID discovery and id_token validation.

msal (≥ 1.38) does not validate the id_token: no signature, issuer, audience or tenant check.
``validate_id_token`` does all of them against the authority's published keys.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import jwt
import msal
import requests
from django.core.cache import cache
from msal.exceptions import MsalServiceError

from membership.certificates import Certificate, client_assertion
from membership.failures import SignInFailure, unavailable, unreachable
from membership.lib.endpoints import AUTHORITY_HOSTS, EndpointNotAllowed, check_authority
from membership.lib.http import microsoft_session
from membership.models import MicrosoftSettings
from membership.validators import is_guid

DISCOVERY_TTL = 24 * 3600
LEEWAY = 120  # seconds of clock skew tolerated on exp / nbf
# cp1: this app answers claims challenges, so Graph may apply Continuous Access Evaluation to its tokens.
CLIENT_CAPABILITIES = ["cp1"]

_apps: dict[tuple[Any, ...], msal.ConfidentialClientApplication] = {}
_apps_lock = threading.Lock()
_http_cache: dict[Any, Any] = {}  # MSAL's discovery cache, shared by every app in this process


class _NoTokenCache(msal.TokenCache):
    """Tokens live in the database (members) and the shared Django cache (the app token);
    MSAL's per-process cache would only grow with every member refreshed."""

    def add(self, event: dict[str, Any], now: Any = None) -> None:
        return None


def authority_url(ms: MicrosoftSettings, tenant: str | None = None) -> str:
    return f"{ms.authority_host.rstrip('/')}/{tenant or ms.tenant}"


def is_microsoft_host(url: str) -> bool:
    return (urlsplit(url).hostname or "") in AUTHORITY_HOSTS


class _SignedAssertion:
    """MSAL calls this for every token request it sends (with the token endpoint in ``context``): each
    request carries a freshly signed assertion, so none is ever presented twice."""

    def __init__(self, private_key: str, certificate: Certificate, client_id: str) -> None:
        self._private_key = private_key
        self.certificate = certificate
        self.client_id = client_id

    def __call__(self, context: dict[str, Any]) -> str:
        return client_assertion(self._private_key, self.certificate, self.client_id, context["token_endpoint"])

    def __repr__(self) -> str:  # never the key, whatever prints this
        return f"<client assertion for certificate {self.certificate.thumbprint}>"


def client_credential(ms: MicrosoftSettings, *, next_certificate: bool = False) -> tuple[str, str | dict[str, Any]]:
    """The one place the site's credential is built for MSAL: (a fingerprint that names it without
    revealing it, the ``client_credential`` to give MSAL). Every token request (code redemption, refresh,
    the application token) goes through ``msal_app`` and so through here. ``next_certificate`` builds the
    rollover's next certificate instead, for Test configuration to try."""
    if next_certificate or ms.uses_certificate:
        cert = ms.pending_certificate if next_certificate else ms.current_certificate
        key = ms.credential_value("next_certificate_key" if next_certificate else "certificate_key")
        if cert is None or not key:
            raise SignInFailure("invalid_client", "no certificate stored")
        return f"certificate:{cert.thumbprint_sha256}", {"client_assertion": _SignedAssertion(key, cert, ms.client_id)}
    secret = ms.credential_value("client_secret")
    return f"secret:{hashlib.sha256(secret.encode()).hexdigest()}", secret


def msal_app(ms: MicrosoftSettings, tenant: str | None = None, *,
             next_certificate: bool = False) -> msal.ConfidentialClientApplication:
    """The MSAL app for the current settings; rebuilt when the settings, the credential (or tenant) change.

    Building one fetches the authority's OpenID configuration (once per process and authority):
    a 4xx there is ``tenant_not_found``; no answer, or a 5xx, is ``access_token_failed`` with a transient reason.
    """
    try:
        check_authority(ms.authority_host)  # the credential goes there: Microsoft's clouds only
    except EndpointNotAllowed:
        raise SignInFailure("endpoint_not_allowed", "authority host not allowed") from None
    authority = authority_url(ms, tenant)
    fingerprint, credential = client_credential(ms, next_certificate=next_certificate)
    key = (ms.client_id, fingerprint, authority, ms.updated_at)
    with _apps_lock:
        app = _apps.get(key)
        if app is None:
            try:
                app = msal.ConfidentialClientApplication(
                    ms.client_id,
                    client_credential=credential,
                    authority=authority,
                    http_client=microsoft_session(),  # carries the timeout policy
                    instance_discovery=is_microsoft_host(authority),
                    http_cache=_http_cache,
                    token_cache=_NoTokenCache(),
                    client_capabilities=CLIENT_CAPABILITIES,
                )
            except ValueError:  # MSAL: discovery answered 4xx (or not JSON)
                raise SignInFailure("tenant_not_found", "authority has no OpenID configuration") from None
            except (requests.RequestException, MsalServiceError) as exc:
                raise unreachable(exc, "OpenID discovery") from None
            for old in [k for k in _apps if k[0] != key[0] or k[3] != key[3]]:
                del _apps[old]  # settings changed: drop apps built from the old ones
            _apps[key] = app
        return app


def discovery(ms: MicrosoftSettings, tenant: str | None = None) -> dict[str, Any]:
    """The authority's OpenID configuration, cached for a day in the shared cache."""
    url = f"{authority_url(ms, tenant)}/v2.0/.well-known/openid-configuration"
    key = "ms:oidc:" + hashlib.sha256(url.encode()).hexdigest()
    doc = cache.get(key)
    if doc is None:
        doc = _fetch_json(url, "OpenID discovery")
        if not isinstance(doc.get("issuer"), str) or not isinstance(doc.get("jwks_uri"), str):
            raise unavailable("discovery document without issuer or jwks_uri")
        cache.set(key, doc, DISCOVERY_TTL)
    return doc


def _fetch_json(url: str, what: str) -> dict[str, Any]:
    """GET a JSON document from the authority. Only a good answer is worth caching: a 400 or 404 is
    ``tenant_not_found``, while no answer, another status or a body that is not a JSON object is
    ``access_token_failed`` with a transient reason (and is asked again next time)."""
    try:
        response = microsoft_session().get(url)
    except requests.RequestException as exc:
        raise unreachable(exc, what) from None
    if response.status_code in (400, 404):  # what Entra answers for a tenant it does not know
        raise SignInFailure("tenant_not_found", f"{what} HTTP {response.status_code}")
    if response.status_code != 200:
        raise unavailable(f"{what} HTTP {response.status_code}")
    try:
        doc = response.json()
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise unavailable(f"{what} answered something that is not a JSON object")
    return doc


def _signing_keys(jwks_uri: str, *, refresh: bool = False) -> dict[str, Any]:
    key = "ms:jwks:" + hashlib.sha256(jwks_uri.encode()).hexdigest()
    jwks = None if refresh else cache.get(key)
    if jwks is None:
        try:
            jwks = _fetch_json(jwks_uri, "signing keys")
        except SignInFailure as failure:
            if failure.code == "tenant_not_found":  # the keys of a tenant that answered discovery: not a tenant issue
                raise unavailable(failure.detail) from None
            raise
        if not isinstance(jwks.get("keys"), list):
            raise unavailable("signing keys document without keys")
        cache.set(key, jwks, DISCOVERY_TTL)
    return jwks


def _public_key(jwks_uri: str, kid: str) -> Any:
    for refresh in (False, True):  # an unknown kid means Microsoft rolled its keys: refetch once
        for jwk in _signing_keys(jwks_uri, refresh=refresh).get("keys", []):
            if jwk.get("kid") == kid:
                return jwt.PyJWK(jwk, algorithm="RS256").key
    raise SignInFailure("user_profile_failed", "id_token signed by an unknown key")


def nonce_hash(nonce: str) -> str:
    """What MSAL sends as the nonce parameter, and so what the id_token must carry."""
    return hashlib.sha256(nonce.encode("ascii")).hexdigest()


def validate_id_token(ms: MicrosoftSettings, id_token: str, *, nonce: str) -> dict[str, Any]:
    """Verify signature, issuer, audience, lifetime, nonce and tenant; return the claims."""
    doc = discovery(ms)
    try:
        header = jwt.get_unverified_header(id_token)
        if header.get("alg") != "RS256":
            raise SignInFailure("user_profile_failed", "id_token not RS256")
        key = _public_key(doc["jwks_uri"], header.get("kid", ""))
        claims = jwt.decode(
            id_token, key, algorithms=["RS256"], audience=ms.client_id, leeway=LEEWAY,
            options={"require": ["iss", "aud", "exp", "iat", "tid", "oid", "nonce"]},
        )
    except jwt.PyJWTError as exc:
        raise SignInFailure("user_profile_failed", type(exc).__name__) from None
    for name in ("iss", "tid", "oid", "nonce"):
        if not isinstance(claims[name], str):
            raise SignInFailure("user_profile_failed", f"{name} is not a string")
    if not is_guid(claims["tid"]) or not is_guid(claims["oid"]):
        raise SignInFailure("user_profile_failed", "tid or oid is not a GUID")
    expected_issuer = doc["issuer"].replace("{tenantid}", claims["tid"])
    if claims["iss"] != expected_issuer:
        raise SignInFailure("user_profile_failed", "issuer mismatch")
    # The issuer names its tenant (https://host/{tid}/v2.0): a single-tenant authority's fixed
    # issuer must not vouch for another tenant's tid.
    if urlsplit(claims["iss"]).path.split("/")[1:2] != [claims["tid"]]:
        raise SignInFailure("user_profile_failed", "tid does not match the issuer's tenant")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != ms.client_id:
        raise SignInFailure("user_profile_failed", "azp is not this client")
    if claims["nonce"] != nonce_hash(nonce):
        raise SignInFailure("user_profile_failed", "nonce mismatch")
    if ms.allowed_tenants and claims["tid"].lower() not in ms.allowed_tenants:
        raise SignInFailure("tenant_not_allowed", "tid not in allow-list")
    if claims.get("iat", 0) > time.time() + LEEWAY:
        raise SignInFailure("user_profile_failed", "issued in the future")
    return claims
