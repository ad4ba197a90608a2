"""Why a sign-in failed: a stable code (sent to the failure URL as ?f=<code>) and what to do."""

from __future__ import annotations

import re
from dataclasses import dataclass


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
            "A tenant administrator can grant consent for everyone at /auth/microsoft/admin-consent/."),
    Failure("invalid_client", "The site’s Microsoft app credentials were rejected",
            "This is a problem with the site, not your account. Try again later.",
            "The client secret is wrong or was deleted: create a new one in the Azure portal "
            "(Certificates & secrets) and enter it in the Microsoft settings."),
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
    Failure("user_profile_failed", "Your Microsoft identity could not be verified",
            "The identity token from Microsoft was not valid for this site. Start again.",
            "Check the Application (client) ID and tenant in the Microsoft settings."),
    Failure("access_token_failed", "Microsoft sign-in failed",
            "Microsoft did not complete the sign-in. Start again; if it keeps failing, contact the site.",
            "See the server log entry with this time for Microsoft’s error code."),
]}


class SignInFailure(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        assert code in CATALOG, code
        super().__init__(code)
        self.code = code
        self.detail = detail  # Microsoft's error code or a short reason; never tokens

    @property
    def failure(self) -> Failure:
        return CATALOG[self.code]


# Entra AADSTS codes (as in error_codes / error_description) and what we call them.
AADSTS_FAILURES = {
    7000215: "invalid_client",   # invalid client secret
    7000222: "secret_expired",   # client secret expired
    700016: "invalid_client",    # application not found in the directory
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


def failure_from_aad(result: dict[str, object], default: str = "access_token_failed") -> SignInFailure:
    """Map an Entra error answer (token endpoint JSON or redirect parameters) to a failure."""
    codes = aadsts_codes(result)
    for code in codes:
        if code in AADSTS_FAILURES:
            return SignInFailure(AADSTS_FAILURES[code], f"AADSTS{code}")
    error = str(result.get("error") or "")
    if error == "access_denied":
        return SignInFailure("consent_declined", error)
    if error == "consent_required":
        return SignInFailure("admin_consent_required", error)
    if error in ("invalid_client", "invalid_grant"):
        return SignInFailure(error, error)
    return SignInFailure(default, f"AADSTS{codes[0]}" if codes else error)
