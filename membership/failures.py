"""Why a sign-in failed: a stable code (sent to the failure URL as ?f=<code>) and what to do."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError


class Reason(StrEnum):
    """Why talking to Microsoft's identity platform failed, in the few kinds a caller acts on."""

    RECONSENT = "reconsent"  # permanent: the member's grant is gone; they must sign in again
    CLIENT_CREDENTIALS = "client_credentials"  # the site's secret or certificate was rejected (wrong, expired, deleted)
    TENANT = "tenant"  # the tenant does not exist, or the app is not known there
    UNAVAILABLE = "unavailable"  # transient: unreachable, reset, or a 5xx
    TIMEOUT = "timeout"  # transient: no answer within the configured timeout
    ENCRYPTION_KEY = "encryption_key"  # a stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY
    ENDPOINT = "endpoint"  # the settings name a host that is not Microsoft's (nothing was sent)
    # Configuration, not an outage (so never retried): the host's certificate did not verify
    # (for the emulator: MICROSOFT_CA_BUNDLE unset), or its name does not resolve.
    TLS = "tls"
    DNS = "dns"

    @property
    def permanent(self) -> bool:
        return self is Reason.RECONSENT

    @property
    def transient(self) -> bool:
        return self in (Reason.UNAVAILABLE, Reason.TIMEOUT)


@dataclass(frozen=True)
class Failure:
    code: str
    title: str
    member_advice: str
    admin_advice: str = ""
    restart: bool = True  # offer "try again"


CATALOG: dict[str, Failure] = {f.code: f for f in [
    Failure("disabled", "Microsoft sign-in is switched off",
            "Sign in another way, or ask the site administrator.",
            "Switch on “Sign in with Microsoft” in the admin’s Microsoft settings.", restart=False),
    Failure("unknown_mode", "This sign-in link is not valid",
            "The link names a sign-in mode this site does not have. Use the site’s sign-in button.",
            "Add the mode under Microsoft settings → Sign-in modes, or enable it."),
    Failure("state_mismatch", "The sign-in could not be matched to this browser",
            "It expired, was already used, or came from another browser tab or site. Start again.",
            restart=True),
    Failure("consent_declined", "Permission was not granted",
            "You declined the permissions this site asks for. Start again and choose Accept to continue."),
    Failure("admin_consent_required", "Your organisation’s administrator must approve this site",
            "Ask your IT administrator to grant consent for this site, then sign in again.",
            "A tenant administrator can grant consent for everyone: “Administrators: grant consent for your "
            "organisation” on this page (the site's admin-consent/ address, beside its sign-in callback)."),
    Failure("invalid_client", "The site’s Microsoft app credentials were rejected",
            "This is a problem with the site, not your account. Try again later.",
            "The client secret or certificate is wrong or was deleted: create a new secret in the Azure portal "
            "(Certificates & secrets) and enter it in the Microsoft settings, or generate or upload a certificate "
            "there and register it in the Azure portal; then run Test configuration."),
    Failure("certificate_rejected", "The site’s Microsoft app certificate was rejected",
            "This is a problem with the site, not your account. Try again later.",
            "Microsoft does not accept the certificate the site signs with (AADSTS700027: not registered on the app, "
            "deleted or expired there, or the private key does not match it). Download the certificate (.cer) from "
            "the Microsoft settings and upload it in the Azure portal → your app → Certificates & secrets → "
            "Certificates, or generate a new one; then run Test configuration."),
    Failure("assertion_rejected", "Microsoft refused the site’s signed credential",
            "This is a problem with the site, not your account. Try again later.",
            "Microsoft refused the client assertion signed with the site's certificate: outside its valid time "
            "(AADSTS700024: set this server's clock by NTP), or not for this app or endpoint (check the "
            "Application (client) ID, Tenant and Authority host in the Microsoft settings). Run Test configuration "
            "for details."),
    Failure("secret_expired", "The site’s Microsoft app secret has expired",
            "This is a problem with the site, not your account. Try again later.",
            "Create a new client secret in the Azure portal and enter it in the Microsoft settings."),
    Failure("invalid_grant", "The sign-in code could not be redeemed",
            "The sign-in took too long or the code was already used. Start again."),
    Failure("tenant_not_allowed", "Your organisation is not allowed to sign in here",
            "Accounts from your organisation cannot use this site. Sign in with another account.",
            "Add the tenant ID to “Allowed tenant IDs” in the Microsoft settings if it should be allowed."),
    Failure("tenant_not_found", "The Microsoft tenant was not found",
            "This is a problem with the site’s configuration. Try again later.",
            "Check “Tenant” in the Microsoft settings: it must be an existing tenant ID or verified domain."),
    Failure("redirect_uri_mismatch", "The site’s redirect address is not registered",
            "This is a problem with the site’s configuration. Try again later.",
            "Register the Redirect URI shown in the Microsoft settings in the Azure portal → Authentication."),
    Failure("account_in_use", "That Microsoft account belongs to another member",
            "It is already connected to a different account here. Sign in with it instead, or use another "
            "Microsoft account.", restart=False),
    Failure("member_exists", "A member here already has your e-mail address",
            "Sign in the way you usually do, then connect your Microsoft account from your account page.",
            "The site names members by e-mail and a member already has this address; a Microsoft sign-in "
            "never takes over an existing member by e-mail (a MEMBERSHIP_ADAPTER can allow it).", restart=False),
    Failure("email_missing", "Microsoft did not give this site your e-mail address",
            "Ask the site administrator; your Microsoft account may have no e-mail address.",
            "The site names members by e-mail: add the optional `email` claim in the app registration "
            "(Token configuration), or give the member a mailbox or an e-mail sign-in name.", restart=False),
    Failure("user_profile_failed", "Your Microsoft identity could not be verified",
            "The identity token from Microsoft was not valid for this site. Start again.",
            "Check the Application (client) ID and tenant in the Microsoft settings."),
    Failure("access_token_failed", "Microsoft sign-in failed",
            "Microsoft did not complete the sign-in. Start again; if it keeps failing, contact the site.",
            "See the server log entry with this time for Microsoft’s error code."),
    Failure("secret_unreadable", "The site cannot read its Microsoft app secret",
            "This is a problem with the site, not your account. Try again later.",
            "The stored client secret or certificate private key cannot be decrypted with FIELD_ENCRYPTION_KEY. "
            "Restore the key it was written with (list old keys after the new one, comma-separated), or enter the "
            "client secret (or upload the certificate) again in the Microsoft settings.", restart=False),
    Failure("endpoint_not_allowed", "The site’s Microsoft settings point outside Microsoft",
            "This is a problem with the site, not your account. Try again later.",
            "The Authority host or Graph URL in the Microsoft settings is not a Microsoft cloud host (nor one "
            "named in MICROSOFT_ALLOWED_HOSTS); nothing was sent to it. Correct it in the Microsoft settings.",
            restart=False),
    Failure("tls_verification_failed", "The site could not verify Microsoft's certificate",
            "This is a problem with the site’s configuration, not your account. Try again later.",
            "The TLS certificate of the Authority host did not verify (the server log names the host). Check the "
            "Authority host in the Microsoft settings; for the local emulator, set MICROSOFT_CA_BUNDLE to its CA "
            "file.", restart=False),
    Failure("host_not_found", "The site could not find Microsoft's sign-in service",
            "This is a problem with the site’s configuration, not your account. Try again later.",
            "The Authority host's name does not resolve (DNS; the server log names the host). Check the Authority "
            "host in the Microsoft settings, and this machine's DNS and network.", restart=False),
    Failure("member_inactive", "This member account is deactivated",
            "Your account on this site has been deactivated. Contact the site if you think this is a mistake.",
            "The member is inactive (Django user is_active is off): reactivate the user in the admin to let them "
            "sign in.", restart=False),
]}


# What each sign-in failure code means to code that is not a sign-in (refresh, app token).
CODE_REASONS = {
    "invalid_client": Reason.CLIENT_CREDENTIALS,
    "secret_expired": Reason.CLIENT_CREDENTIALS,
    "certificate_rejected": Reason.CLIENT_CREDENTIALS,
    "assertion_rejected": Reason.CLIENT_CREDENTIALS,
    "tenant_not_found": Reason.TENANT,
    "secret_unreadable": Reason.ENCRYPTION_KEY,
    "endpoint_not_allowed": Reason.ENDPOINT,
    "tls_verification_failed": Reason.TLS,
    "host_not_found": Reason.DNS,
    "invalid_grant": Reason.RECONSENT,
    "admin_consent_required": Reason.RECONSENT,
}


class SignInFailure(Exception):
    def __init__(self, code: str, detail: str = "", *, reason: Reason | None = None, host: str = "") -> None:
        assert code in CATALOG, code
        super().__init__(code)
        self.code = code
        self.detail = detail  # Microsoft's error code or a short reason; never tokens
        self.host = host  # the host that could not be reached, when that was the failure
        # None: a failure of the sign-in itself (state, consent, tenant policy), not of talking to Microsoft.
        self.reason = reason or CODE_REASONS.get(code)

    @property
    def failure(self) -> Failure:
        return CATALOG[self.code]

    @property
    def shown_detail(self) -> str:
        """What the failure page may show besides the site's own text: Microsoft's AADSTS number only."""
        return self.detail if re.fullmatch(r"AADSTS\d{1,9}", self.detail) else ""

    @property
    def status(self) -> int:
        """503 when Microsoft or the site's own configuration is at fault (retrying later may work)."""
        site_or_microsoft = (Reason.UNAVAILABLE, Reason.TIMEOUT, Reason.ENCRYPTION_KEY, Reason.ENDPOINT, Reason.TLS,
                             Reason.DNS)
        return 503 if self.reason in site_or_microsoft else 400


def unavailable(detail: str) -> SignInFailure:
    """Microsoft answered, but not usefully (a 5xx, a broken document): try again later."""
    return SignInFailure("access_token_failed", detail, reason=Reason.UNAVAILABLE)


def transport_reason(exc: Exception) -> Reason:
    """Why a request got no answer: a timeout, a certificate that did not verify, a host name that does
    not resolve, or else unavailable (refused, reset, MSAL's MsalServiceError for a 5xx)."""
    if isinstance(exc, requests.Timeout):
        return Reason.TIMEOUT
    if isinstance(exc, requests.exceptions.SSLError):
        return Reason.TLS
    # requests wraps urllib3's MaxRetryError, whose ``reason`` is the underlying error.
    seen: list[object] = [exc]
    while seen:
        current = seen.pop()
        if isinstance(current, NameResolutionError | socket.gaierror):
            return Reason.DNS
        if isinstance(current, BaseException):
            seen += [*current.args[:1], getattr(current, "reason", None), current.__cause__]
    return Reason.UNAVAILABLE


def failed_host(exc: Exception) -> str:
    """The host a requests exception was talking to ('' when unknown)."""
    request = getattr(exc, "request", None)
    return (urlsplit(str(request.url)).hostname or "") if request is not None and request.url else ""


TRANSPORT_CODES = {Reason.TLS: "tls_verification_failed", Reason.DNS: "host_not_found"}


def unreachable(exc: Exception, what: str) -> SignInFailure:
    """A transport failure (or MSAL's MsalServiceError for a 5xx) talking to ``what``."""
    reason = transport_reason(exc)
    host = failed_host(exc)
    detail = f"{what}{' at ' + host if host else ''}: {type(exc).__name__}"
    return SignInFailure(TRANSPORT_CODES.get(reason, "access_token_failed"), detail, reason=reason, host=host)


# Entra AADSTS codes (as in error_codes / error_description) and what we call them.
AADSTS_FAILURES = {
    7000215: "invalid_client",   # invalid client secret
    7000222: "secret_expired",   # client secret expired
    700016: "invalid_client",    # application not found in the directory
    # Certificate credentials (a signed client assertion). 700027, 700024, 700021 and 700023 are in
    # Microsoft's documentation and error texts; 50012 (an older audience error), 50027 (invalid JWT)
    # and 7000274 are mapped on reports, not verified against a live tenant.
    700027: "certificate_rejected",  # key not registered (or expired there), or the signature does not verify
    700024: "assertion_rejected",    # assertion outside its valid time range: this server's clock
    700021: "assertion_rejected",    # iss/sub is not the client id
    700023: "assertion_rejected",    # aud is not the token endpoint
    50012: "assertion_rejected",
    50027: "assertion_rejected",
    7000274: "assertion_rejected",
    70008: "invalid_grant",      # code expired or already redeemed
    54005: "invalid_grant",      # code already redeemed
    501481: "invalid_grant",     # PKCE verifier mismatch
    65004: "consent_declined",
    65001: "admin_consent_required",
    90094: "admin_consent_required",
    90002: "tenant_not_found",
    50011: "redirect_uri_mismatch",
    50194: "tenant_not_found",   # single-tenant app reached through /common
}


def aadsts_codes(result: dict[str, object]) -> list[int]:
    """The AADSTS numbers in an Entra error answer (``error_codes`` or the description)."""
    codes: list[int] = []
    raw = result.get("error_codes")
    if isinstance(raw, list):
        codes = [int(c) for c in raw if str(c).isdigit()]
    if match := re.match(r"AADSTS(\d+)", str(result.get("error_description") or "")):
        codes.append(int(match.group(1)))
    return codes


# AADSTS codes that mean the grant is gone for good: the member must sign in again.
RECONSENT_AADSTS = frozenset({
    700082, 50173, 65001, 70000, 70008, 50076, 50079, 53003, 50133, 54005, 9002313, 700084,
})
# Multi-factor authentication (50076; 50079: enrolment) asked for by a Conditional Access policy.
MFA_AADSTS = frozenset({50076, 50079})
CONDITIONAL_ACCESS_BLOCKED = 53003  # a Conditional Access policy blocks the sign-in outright
CLIENT_CREDENTIALS_AADSTS = frozenset({7000215, 7000222, 7000218, 700027, 700024, 700021, 700023, 50012, 50027,
                                       7000274})
TENANT_AADSTS = frozenset({90002, 900023, 50194})


def reason_from_aad(result: dict[str, object]) -> Reason:
    """The reason behind an Entra error answer from the token endpoint (refresh or app token)."""
    codes = set(aadsts_codes(result))
    error = str(result.get("error") or "")
    if codes & CLIENT_CREDENTIALS_AADSTS or error in ("invalid_client", "unauthorized_client"):
        return Reason.CLIENT_CREDENTIALS
    if codes & TENANT_AADSTS:
        return Reason.TENANT
    if codes & RECONSENT_AADSTS or error in ("invalid_grant", "interaction_required", "consent_required",
                                             "invalid_scope"):
        return Reason.RECONSENT
    return Reason.UNAVAILABLE  # temporarily_unavailable, server_error and what we do not know


# OAuth 2.0 and OpenID Connect error codes (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6).
OAUTH_ERRORS = frozenset({
    "invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type", "invalid_scope",
    "server_error", "temporarily_unavailable", "invalid_client", "invalid_grant", "unsupported_grant_type",
    "interaction_required", "login_required", "account_selection_required", "consent_required",
    "invalid_request_uri", "invalid_request_object", "request_not_supported", "request_uri_not_supported",
    "registration_not_supported",
})


def failure_from_aad(result: dict[str, object], default: str = "access_token_failed") -> SignInFailure:
    """Map an Entra error answer (token endpoint JSON or redirect parameters) to a failure."""
    codes = aadsts_codes(result)
    for code in codes:
        if code in AADSTS_FAILURES:
            return SignInFailure(AADSTS_FAILURES[code], f"AADSTS{code}")
    error = str(result.get("error") or "")
    # ``error`` may come from the browser (the callback's query): keep it only if it is a code we know.
    detail = f"AADSTS{codes[0]}" if codes else (error if error in OAUTH_ERRORS else "")
    if error == "access_denied":
        return SignInFailure("consent_declined", detail)
    if error == "consent_required":
        return SignInFailure("admin_consent_required", detail)
    if error in ("invalid_client", "invalid_grant"):
        return SignInFailure(error, detail)
    return SignInFailure(default, detail)
