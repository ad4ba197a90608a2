"""End-to-end configuration check: settings → discovery → client secret → one Graph call.

``run_checks()`` backs ``manage.py graph check`` and the admin's "Test configuration" button. It
stops at the first failure, since every later step depends on the earlier ones, and each failure
says what to fix. No token or secret ever appears in a check's text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import requests

from graphfns.app_tokens import AppTokenCache
from graphfns.errors import FunctionError
from graphfns.execution import execute
from membership.http import microsoft_session
from membership.identity import authority_url
from membership.models import MicrosoftSettings


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
        ("Client secret and application token", check_app_token),
        ("Microsoft Graph call (users.list as the application)", check_graph_call),
    ]
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
        raise Failed("The stored client secret cannot be decrypted with FIELD_ENCRYPTION_KEY.",
                     "Restore the key it was written with (list old keys after the new one, comma-separated), "
                     "or enter the client secret again in the Microsoft settings.")
    missing = [label for label, value in [
        ("Application (client) ID", ms.client_id), ("Client secret", ms.client_secret),
        ("Tenant", ms.tenant), ("App tenant ID", ms.app_tenant_id),
    ] if not value]
    if missing:
        raise Failed(f"Missing: {', '.join(missing)}.",
                     "Fill them in from the Azure portal (App registrations → your app); the help text next "
                     "to each field says where.")
    detail = f"Enabled; client {ms.client_id}, tenant {ms.tenant}, App tenant {ms.app_tenant_id}."
    warning = ms.secret_expiry_warning()
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
    tokens.clear()  # a cached token would prove nothing about today's secret
    try:
        tokens.token()
    except FunctionError as exc:
        raise Failed(_error_detail(exc, "Microsoft did not issue an application token"), exc.message) from None
    return f"Microsoft accepted the client secret ({ms.secret_hint}) and issued an application token " \
           f"for tenant {ms.app_tenant_id}."


def check_graph_call(ms: MicrosoftSettings) -> str:
    try:
        result = execute("users.list", {"limit": 1, "top": 1}, None, caller="check")
    except FunctionError as exc:
        raise Failed(_error_detail(exc, "Graph refused users.list"), exc.message) from None
    return f"Graph at {ms.graph_url} answered users.list ({len(result.get('value', []))} user returned)."


def _error_detail(exc: FunctionError, what: str) -> str:
    extra = ", ".join(f"{k} {v}" for k, v in exc.details.items() if k in ("aad_code", "graph_code", "request_id"))
    return f"{what}: {exc.code}" + (f" ({extra})." if extra else ".")
