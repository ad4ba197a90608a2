"""Entra's error shapes: the token endpoint's JSON, the authorize redirect and the error page.

Every AADSTS message lives here so the JSON, the redirect and the HTML page say the same thing.
Messages follow the wording Entra uses; ``{name}`` placeholders are filled per request.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from emulator.routing import Request, Response, json_response

if TYPE_CHECKING:
    from emulator.app import Emulator

MESSAGES: dict[int, str] = {
    50011: ("The redirect URI '{redirect_uri}' specified in the request does not match the redirect "
            "URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the "
            "request matches one added to your application in the Azure portal. Navigate to "
            "https://aka.ms/redirectUriMismatchError to learn more about how to fix this."),
    50027: "JWT token is invalid or malformed: {reason}.",
    50034: "The user account {login_hint} does not exist in the {tenant} directory.",
    50057: "The user account is disabled.",
    50076: ("Due to a configuration change made by your administrator, or because you moved to a new "
            "location, you must use multi-factor authentication to access '{resource}'."),
    50079: ("Due to a configuration change made by your administrator, or because you moved to a new "
            "location, you must enroll in multi-factor authentication to access '{resource}'."),
    53003: ("Access has been blocked by Conditional Access policies. The access policy does not allow "
            "token issuance."),
    50058: "A silent sign-in request was sent but no user is signed in.",
    50059: ("No tenant-identifying information found in either the request or implied by any "
            "provided credentials."),
    50173: ("The provided grant has expired due to it being revoked, a fresh auth token is needed. "
            "The user might have changed or reset their password. The grant was issued on "
            "'{issued}' and the TokensValidFrom date (before which tokens are not valid) for this "
            "user is '{valid_from}'."),
    50089: "Authentication failed due to flow token expired. Please start the sign-in again.",
    50194: ("Application '{client_id}'({app_name}) is not configured as a multi-tenant application. "
            "Usage of the /common endpoint is not supported for such applications created after "
            "'10/15/2018'. Use a tenant-specific endpoint or configure the application to be "
            "multi-tenant."),
    54005: ("OAuth2 Authorization code was already redeemed, please retry with a new valid code or "
            "use an existing refresh token."),
    65001: ("The user or administrator has not consented to use the application with ID "
            "'{client_id}' named '{app_name}'. Send an interactive authorization request for this "
            "user and resource."),
    65004: "User declined to consent to access the app.",
    70000: "The provided value for the '{param}' is not valid. {detail}",
    70003: "The app requested an unsupported grant type '{grant_type}'.",
    70005: "response_type '{response_type}' is not enabled for the application.",
    70008: ("The provided authorization code or refresh token has expired due to inactivity. Send a "
            "new interactive authorization request for this user and resource."),
    70011: ("The provided value for the input parameter 'scope' is not valid. The scope {scope} is "
            "not valid."),
    90002: ("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
            "signing into the correct cloud. Check with your subscription administrator, this may "
            "happen if there are no active subscriptions for the tenant."),
    90023: "The '{param}' value '{value}' is not supported.",
    90094: "The grant requires admin permission.",
    500011: ("The resource principal named {resource} was not found in the tenant named {tenant}. "
             "This can happen if the application has not been installed by the administrator of "
             "the tenant or consented to by any user in the tenant. You might have sent your "
             "authentication request to the wrong tenant."),
    501481: "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
    501491: "Invalid size of Code_Challenge parameter.",
    700016: ("Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
             "This can happen if the application has not been installed by the administrator of the "
             "tenant or consented to by any user in the tenant. You may have sent your "
             "authentication request to the wrong tenant."),
    700021: "Client assertion application identifier doesn't match 'client_id' parameter of app '{client_id}'.",
    700023: ("Client assertion audience claim does not match Realm issuer. The audience in the assertion was "
             "'{audience}'. Review the documentation at "
             "https://learn.microsoft.com/entra/identity-platform/certificate-credentials."),
    700024: "Client assertion is not within its valid time range.",
    700027: ("Client assertion contains an invalid signature. [Reason - {reason}, Thumbprint of key used by "
             "client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to "
             "see configured keys for app Id '{client_id}'.]"),
    700082: ("The refresh token has expired due to inactivity. The token was issued on '{issued}' "
             "and was inactive for {inactive}."),
    900144: "The request body must contain the following parameter: '{param}'.",
    1002012: ("The provided value for scope {scope} is not valid. Client credential flows must have "
              "a scope value with /.default suffixed to the resource identifier (application ID "
              "URI)."),
    7000215: ("Invalid client secret provided. Ensure the secret being sent in the request is the "
              "client secret value, not the client secret ID, for a secret added to app "
              "'{client_id}'."),
    7000218: ("The request body must contain the following parameter: 'client_assertion' or "
              "'client_secret'."),
    7000222: ("The provided client secret keys for app '{client_id}' are expired. Visit the Azure "
              "portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider "
              "using certificate credentials for added security: https://aka.ms/certCreds."),
    # Injected faults (control API) on identity endpoints.
    90033: "A transient error has occurred. Please try again.",
    90055: "The request was throttled. Retry after the interval given in Retry-After.",
}


class AADError(Exception):
    """An Entra error raised inside a handler; the endpoint decides how it is delivered."""

    def __init__(self, error: str, code: int | None, status: int = 400, *,
                 subcode: str | None = None, message: str | None = None, claims: str | None = None,
                 **fields: Any) -> None:
        self.error = error
        self.code = code
        self.status = status
        self.subcode = subcode
        self.claims = claims  # a claims challenge (JSON) the client may send back on its next request
        text = message if message is not None else MESSAGES[code].format_map(_Missing(fields)) if code else ""
        self.message = text
        super().__init__(self.describe_short())

    def describe_short(self) -> str:
        return f"AADSTS{self.code}: {self.message}" if self.code else self.message


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _stamp(emu: Emulator) -> str:
    return datetime.fromtimestamp(emu.now(), UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def ids_for(req: Request) -> tuple[str, str]:
    """(trace id, correlation id): the correlation id echoes the caller's client-request-id."""
    trace = str(uuid.uuid4())
    correlation = req.headers.get("client-request-id") or str(uuid.uuid4())
    return trace, correlation


def describe(emu: Emulator, req: Request, err: AADError) -> tuple[str, dict[str, Any]]:
    """Entra's long ``error_description`` (with the Trace/Correlation/Timestamp lines) and the
    accompanying fields."""
    trace, correlation = ids_for(req)
    stamp = _stamp(emu)
    text = f"{err.describe_short()}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {stamp}"
    fields: dict[str, Any] = {"timestamp": stamp, "trace_id": trace, "correlation_id": correlation}
    if err.code:
        fields["error_codes"] = [err.code]
        fields["error_uri"] = f"{emu.base_url}/error?code={err.code}"
    return text, fields


def token_error(emu: Emulator, req: Request, err: AADError) -> Response:
    """The token/discovery endpoints' JSON error, as Entra sends it."""
    text, fields = describe(emu, req, err)
    body: dict[str, Any] = {"error": err.error, "error_description": text, **fields}
    if err.subcode:
        body["suberror"] = err.subcode
    if err.claims:
        body["claims"] = err.claims
    headers = {"x-ms-request-id": fields["trace_id"], "client-request-id": fields["correlation_id"],
               "cache-control": "no-store, no-cache", "pragma": "no-cache"}
    status = err.status
    if err.error == "invalid_client":
        status = 401
        headers["www-authenticate"] = 'Basic realm="emulator"'
    return json_response(body, status, headers)


def redirect_params(emu: Emulator, req: Request, err: AADError, state: str | None) -> dict[str, str]:
    """What an authorize error carries back to the app's redirect URI."""
    text, fields = describe(emu, req, err)
    params = {"error": err.error, "error_description": text}
    if err.subcode:
        params["error_subcode"] = err.subcode
    if "error_uri" in fields:
        params["error_uri"] = fields["error_uri"]
    if state is not None:
        params["state"] = state
    return params


def fault_error(emu: Emulator, req: Request, status: int, retry_after: int | None) -> Response:
    """An injected HTTP failure on an identity endpoint, in Entra's JSON shape."""
    code = 90055 if status == 429 else 90033
    resp = token_error(emu, req, AADError("temporarily_unavailable", code, status))
    if retry_after is not None:
        resp.headers["retry-after"] = str(retry_after)
    return resp
