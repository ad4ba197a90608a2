"""OpenID Connect discovery and the signing keys, per tenant segment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.identity.errors import AADError, token_error
from emulator.identity.model import CONSUMERS_TENANT, TenantRef, resolve_tenant
from emulator.routing import Request, Response, json_response, route

if TYPE_CHECKING:
    from emulator.app import Emulator


def _issuer(base: str, ref: TenantRef) -> str:
    if ref.tenant is not None:
        return f"{base}/{ref.tenant['id']}/v2.0"
    if ref.meta == "consumers":
        return f"{base}/{CONSUMERS_TENANT}/v2.0"
    return f"{base}/{{tenantid}}/v2.0"  # Entra's literal placeholder on multi-tenant endpoints


def openid_configuration(emu: Emulator, segment: str) -> dict[str, Any]:
    ref = resolve_tenant(emu, segment)
    base = emu.base_url
    # Endpoints keep "common"/"organizations"/"consumers"; a named tenant is resolved to its GUID.
    path = ref.tenant["id"] if ref.tenant is not None else ref.meta
    issuer = _issuer(base, ref)
    return {
        "token_endpoint": f"{base}/{path}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base}/{path}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "authorization_endpoint": f"{base}/{path}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{path}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/{path}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                             "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat",
                             "auth_time", "acr", "nonce", "preferred_username", "name", "tid",
                             "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": f"{base}/{path}/kerberos",
        "tenant_region_scope": "NA" if ref.meta != "consumers" else None,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


@route("GET", "/{tenant}/v2.0/.well-known/openid-configuration")
def well_known(emu: Emulator, req: Request) -> Response:
    try:
        return json_response(openid_configuration(emu, req.params["tenant"]),
                             headers={"cache-control": "max-age=86400, private",
                                      "access-control-allow-origin": "*"})
    except AADError as err:
        return token_error(emu, req, err)


@route("GET", "/{tenant}/discovery/v2.0/keys")
def keys(emu: Emulator, req: Request) -> Response:
    try:
        ref = resolve_tenant(emu, req.params["tenant"])
    except AADError as err:
        return token_error(emu, req, err)
    jwk = {**emu.signer.jwk(), "issuer": _issuer(emu.base_url, ref)}  # whose tokens the key signs
    return json_response({"keys": [jwk]}, headers={"cache-control": "max-age=86400, private",
                                                   "access-control-allow-origin": "*"})
