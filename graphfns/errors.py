"""The error catalog: every failure of a Graph function is one of these codes.

Each has an HTTP status for the API and a sentence saying what happened and what to do. Extra
details (Graph's own code, its request-id, a reconnect URL, Retry-After) ride along in ``details``;
tokens and secrets never do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from membership.failures import Reason


@dataclass(frozen=True)
class ErrorKind:
    code: str
    status: int
    message: str  # what happened and what to do


CATALOG: dict[str, ErrorKind] = {k.code: k for k in [
    ErrorKind("Authorization_RequestDenied", 403,
              "Microsoft Graph denied the request: the caller lacks the permission or directory role it needs. "
              "Grant the permission (with admin consent) in the Azure portal, or assign the user a directory role."),
    ErrorKind("Authorization_IdentityNotFound", 403,
              "The application is not known in the App tenant. A tenant administrator must grant it consent "
              "(the site's admin-consent/ address, beside its sign-in callback) before application calls can be made."),
    ErrorKind("RefreshTokenInvalid", 401,
              "The member's Microsoft sign-in has expired or was revoked. They must reconnect on their account page."),
    ErrorKind("SignInRequired", 401,
              "Microsoft asks the member to sign in again: their session was revoked or a policy now applies "
              "(a claims challenge from Continuous Access Evaluation) and renewing the sign-in did not satisfy it. "
              "Send them to the reconnect URL."),
    ErrorKind("ScopeInvalid", 403,
              "The member has not granted the permission this function needs. Send them to the reconnect URL to "
              "grant it."),
    ErrorKind("TenantNotFound", 400,
              "The App tenant ID is missing or does not exist. Set a valid Directory (tenant) ID in the Microsoft "
              "settings."),
    ErrorKind("InvalidClientCredentials", 503,
              "Microsoft rejected the site's client credential: the client secret (wrong or expired) or the "
              "certificate (not registered on the app, expired, or signed outside its valid time). Enter a new "
              "secret, or register the certificate shown, in the Microsoft settings; Test configuration names "
              "the credential used."),
    ErrorKind("UndecryptableSecret", 503,
              "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY. Restore the key it was written with "
              "(list old keys after the new one, comma-separated), or enter the client secret (or upload the "
              "certificate) again in the Microsoft settings."),
    ErrorKind("EndpointNotAllowed", 503,
              "The Authority host or Graph URL in the Microsoft settings is not a Microsoft cloud host (nor one named "
              "in MICROSOFT_ALLOWED_HOSTS); nothing was sent to it. Correct it in the Microsoft settings."),
    ErrorKind("TLSVerificationFailed", 503,
              "The TLS certificate of a Microsoft endpoint (the Authority host or Graph URL in the Microsoft settings) "
              "did not verify, so nothing was sent; this is configuration, not an outage, and is not retried. Check "
              "that the URL names the right host; for the local emulator, set MICROSOFT_CA_BUNDLE to its CA file "
              "(`make demo` writes it into .env)."),
    ErrorKind("HostNotFound", 503,
              "The host name of a Microsoft endpoint (the Authority host or Graph URL in the Microsoft settings) does "
              "not resolve (DNS), so nothing was sent; it is not retried. Check the URL for typos, and this "
              "machine's DNS and network."),
    ErrorKind("MicrosoftAuthDisabled", 503,
              "Microsoft functions are switched off. Enable Sign in with Microsoft in the Microsoft settings."),
    ErrorKind("NotConnected", 409,
              "That member has not connected a Microsoft account (or disconnected it). They must sign in with "
              "Microsoft first."),
    ErrorKind("MemberInactive", 409,
              "That member is deactivated on this site (is_active is off): the platform does not act for them. "
              "Reactivate the user in the admin if they should be acted for again."),
    ErrorKind("ValidationError", 400, "The parameters are not valid. Correct the fields named in the details."),
    ErrorKind("NotFound", 404, "Microsoft Graph has no such object. Check the id."),
    ErrorKind("Throttled", 429,
              "Microsoft Graph is throttling these calls and the retry budget ran out. "
              "Retry after the interval given."),
    ErrorKind("UpstreamUnavailable", 503, "Microsoft is unavailable right now. Retry in a little while."),
    ErrorKind("Timeout", 504, "Microsoft did not answer in time. Retry; if it persists, ask for less data per call."),
    ErrorKind("GraphError", 502, "Microsoft Graph refused the request (HTTP status: Graph's own 4xx, else 502). "
              "Its code, message and request-id are in the details."),
    ErrorKind("UnknownFunction", 404, "There is no function by that name. GET the API's functions/ to list them."),
    ErrorKind("AuthenticationRequired", 401,
              "This API needs an API key (Authorization: Bearer <key>) or a signed-in session."),
    ErrorKind("PermissionDenied", 403,
              "The caller may not run this function this way (API key limits, or acting for another member)."),
    ErrorKind("MethodNotAllowed", 405, "That HTTP method is not allowed here; the Allow header lists those that are."),
    ErrorKind("InternalError", 500,
              "Something failed inside the platform. The server log (and the call log) has the details; retry later."),
    ErrorKind("TaskNotFound", 404, "There is no task with that id, or its result has expired."),
    ErrorKind("TaskResultsUnavailable", 501,
              "This site keeps no results of background calls (its Celery app has no result backend), so the "
              "task's state cannot be read. The site can set one (CELERY_RESULT_BACKEND); or call synchronously."),
    ErrorKind("QueueUnavailable", 503,
              "Background execution is unavailable (the task queue cannot be reached). Call the function "
              "synchronously, or retry later."),
]}


class FunctionError(Exception):
    """A catalog error. ``str()`` is the sentence; ``as_dict()`` is what the API returns."""

    def __init__(self, code: str, message: str | None = None, *, status: int | None = None, **details: Any) -> None:
        kind = CATALOG[code]
        self.code = code
        self.status = status or kind.status
        self.message = message or kind.message
        self.details = {k: v for k, v in details.items() if v not in (None, "")}
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


REASON_CODES = {
    Reason.RECONSENT: "RefreshTokenInvalid",
    Reason.CLIENT_CREDENTIALS: "InvalidClientCredentials",
    Reason.TENANT: "TenantNotFound",
    Reason.UNAVAILABLE: "UpstreamUnavailable",
    Reason.TIMEOUT: "Timeout",
    Reason.ENCRYPTION_KEY: "UndecryptableSecret",
    Reason.ENDPOINT: "EndpointNotAllowed",
    Reason.TLS: "TLSVerificationFailed",
    Reason.DNS: "HostNotFound",
}

# InvalidClientCredentials, said precisely for the secret's and the certificate's AADSTS codes.
CLIENT_CREDENTIAL_MESSAGES = {
    7000215: ("Microsoft rejected the site's client secret (wrong or expired). Create a new secret in the Azure portal "
              "and enter it in the Microsoft settings."),
    7000222: ("Microsoft rejected the site's client secret (wrong or expired). Create a new secret in the Azure portal "
              "and enter it in the Microsoft settings."),
    700027: ("Microsoft does not accept the site's certificate (AADSTS700027: not registered on the app, deleted or "
             "expired there, or signed with another key). Download the certificate (.cer) from the Microsoft settings "
             "and upload it in the Azure portal → your app → Certificates & secrets → Certificates."),
    700024: ("Microsoft refused the site's signed client assertion as outside its valid time range (AADSTS700024): "
             "this server's clock is off. Set it by NTP."),
    700021: ("Microsoft refused the site's client assertion: it was not issued for this Application (client) ID "
             "(AADSTS700021). Check the client ID in the Microsoft settings."),
    700023: ("Microsoft refused the site's client assertion: its audience is not this token endpoint (AADSTS700023). "
             "Check the Tenant and Authority host in the Microsoft settings."),
}

# The catalog sentence, with the host named where it is known.
HOST_MESSAGES = {
    Reason.TLS: ("The TLS certificate of {host} did not verify, so nothing was sent (configuration, not an outage: "
                 "not retried). Check that the Authority host and Graph URL in the Microsoft settings name the right "
                 "host; for the local emulator, set MICROSOFT_CA_BUNDLE to its CA file (`make demo` writes it into "
                 ".env)."),
    Reason.DNS: ("The host name {host} does not resolve (DNS), so nothing was sent (not retried). Check the "
                 "Authority host and Graph URL in the Microsoft settings for typos, and this machine's DNS and "
                 "network."),
}


def error_for(reason: Reason, message: str | None = None, *, host: str = "", **details: Any) -> FunctionError:
    """The catalog error for a failure talking to Microsoft (its identity platform, or Graph for TLS/DNS)."""
    if message is None and host and reason in HOST_MESSAGES:
        message = HOST_MESSAGES[reason].format(host=host)
    return FunctionError(REASON_CODES[reason], message, host=host, **details)
