"""End-to-end configuration check: settings → discovery → client credential → one Graph call (→ the
next certificate of a rollover, promoted once Microsoft accepts it).

``run_checks()`` backs ``manage.py graph check`` and the admin's "Test configuration" button. It
stops at the first failure, since every later step depends on the earlier ones, and each failure
says what to fix. Checks name the credential used (the secret's last characters, or the certificate's
thumbprint) and whether Microsoft accepted it; no token, secret or key ever appears in a check's text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import requests
from msal.exceptions import MsalServiceError

from graphfns.app_tokens import AppTokenCache, app_token_failure
from graphfns.errors import FunctionError, error_for
from graphfns.execution import execute
from membership.failures import Reason, SignInFailure, unreachable
from membership.identity import authority_url, msal_app
from membership.lib.http import microsoft_session
from membership.models import MicrosoftSettings
from membership.scopes import GRAPH_RESOURCE


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str  # what was found
    fix: str = ""  # what to do, when not ok


class Failed(Exception):
    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fix = fix


def run_checks(ms: MicrosoftSettings | None = None) -> list[Check]:
    ms = ms or MicrosoftSettings.load()
    steps: list[tuple[str, Callable[[MicrosoftSettings], str]]] = [
        ("Microsoft settings", check_settings),
        ("OpenID discovery", check_discovery),
        (f"{'Certificate' if ms.uses_certificate else 'Client secret'} and application token", check_app_token),
        ("Microsoft Graph call (users.list as the application)", check_graph_call),
    ]
    if ms.next_certificate:
        steps.append(("Next certificate (rollover)", check_next_certificate))
    checks = []
    for name, step in steps:
        try:
            checks.append(Check(name, True, step(ms)))
        except Failed as failure:
            checks.append(Check(name, False, failure.detail, failure.fix))
            break
    return checks


def check_settings(ms: MicrosoftSettings) -> str:
    if not ms.enabled:
        raise Failed("Sign in with Microsoft is switched off.",
                     "Tick “Enabled” in the Microsoft settings (admin → Microsoft settings).")
    if not ms.secret_readable:  # stored, so not "missing"; but nothing later can use it
        what = "client secret" if not ms.client_secret_readable else "certificate private key"
        raise Failed(f"The stored {what} cannot be decrypted with FIELD_ENCRYPTION_KEY.",
                     "Restore the key it was written with (list old keys after the new one, comma-separated), "
                     "or enter the client secret (or upload the certificate) again in the Microsoft settings.")
    credential = ("Certificate", ms.certificate) if ms.uses_certificate else ("Client secret", ms.client_secret)
    missing = [label for label, value in [
        ("Application (client) ID", ms.client_id), credential,
        ("Tenant", ms.tenant), ("App tenant ID", ms.app_tenant_id),
    ] if not value]
    if missing:
        raise Failed(f"Missing: {', '.join(missing)}.",
                     "Fill them in from the Azure portal (App registrations → your app); the help text next "
                     "to each field says where.")
    detail = (f"Enabled; client {ms.client_id}, tenant {ms.tenant}, App tenant {ms.app_tenant_id}; "
              f"credential: {ms.credential_name()}.")
    warning = ms.credential_expiry_warning()
    return f"{detail} {warning}" if warning else detail


def check_discovery(ms: MicrosoftSettings) -> str:
    url = f"{authority_url(ms)}/v2.0/.well-known/openid-configuration"
    try:
        response = microsoft_session().get(url)
    except requests.RequestException as exc:
        raise Failed(f"Could not reach {url} ({type(exc).__name__}).",
                     "Check the Authority host in the Microsoft settings and that this server can reach it "
                     "(firewall, proxy, DNS, TLS certificates).") from None
    if response.status_code >= 400:
        raise Failed(f"{url} answered HTTP {response.status_code}.",
                     "The Tenant is unknown to Microsoft: enter your Directory (tenant) ID or verified domain, "
                     "or a keyword such as organizations.")
    try:
        issuer = response.json()["issuer"]
    except (ValueError, KeyError, TypeError):
        raise Failed(f"{url} did not return an OpenID configuration.",
                     "The Authority host does not look like a Microsoft identity platform; check it.") from None
    return f"{url} answered; issuer {issuer}."


def check_app_token(ms: MicrosoftSettings) -> str:
    tokens = AppTokenCache(ms)
    tokens.clear()  # a cached token would prove nothing about today's credential
    name = ms.credential_name()
    try:
        tokens.token()
    except FunctionError as exc:
        raise Failed(_error_detail(exc, f"Microsoft did not issue an application token for the {name}"),
                     exc.message) from None
    return f"Microsoft accepted the {name} and issued an application token for tenant {ms.app_tenant_id}."


def check_graph_call(ms: MicrosoftSettings) -> str:
    try:
        result = execute("users.list", {"limit": 1, "top": 1}, None, caller="check")
    except FunctionError as exc:
        raise Failed(_error_detail(exc, "Graph refused users.list"), exc.message) from None
    return f"Graph at {ms.graph_url} answered users.list ({len(result.get('value', []))} user returned)."


def check_next_certificate(ms: MicrosoftSettings) -> str:
    """Ask for an application token with the rollover's next certificate; once Microsoft accepts it, it
    becomes the current certificate. Until then every token request keeps using the current one."""
    name = ms.credential_name(next_certificate=True)
    try:
        result = msal_app(ms, ms.app_tenant_id, next_certificate=True).acquire_token_for_client(
            scopes=[f"{GRAPH_RESOURCE}/.default"])
    except SignInFailure as failure:
        exc = error_for(failure.reason or Reason.UNAVAILABLE, host=failure.host)
    except (requests.RequestException, MsalServiceError) as error:  # no answer from the token endpoint
        no_answer = unreachable(error, "token endpoint")
        exc = error_for(no_answer.reason or Reason.UNAVAILABLE, host=no_answer.host)
    else:
        if "access_token" in result:
            ms.promote_next_certificate()
            AppTokenCache(ms).clear()
            return (f"Microsoft accepted the next {name}: it is now the current certificate, used for every token "
                    "request. The previous certificate may be deleted in the Azure portal.")
        exc = app_token_failure(result)
    raise Failed(_error_detail(exc, f"Microsoft did not accept the next {name}"),
                 "Download the next certificate (.cer) from the Microsoft settings, upload it in the Azure portal → "
                 "your app → Certificates & secrets → Certificates, then run Test configuration again. Until then "
                 "every token request keeps using the current certificate.")


def _error_detail(exc: FunctionError, what: str) -> str:
    extra = ", ".join(f"{k} {v}" for k, v in exc.details.items() if k in ("aad_code", "graph_code", "request_id"))
    return f"{what}: {exc.code}" + (f" ({extra})." if extra else ".")
