"""The emulator's sign-in, consent and error pages: plain HTML forms, no script.

Buttons carry accessible names a browser test can click ("Sign in as Adele Vance", "Accept",
"Decline"); every form posts back to the emulator with the opaque flow id in a hidden field.
"""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f2f2f2;margin:0;color:#1b1b1b}
main{max-width:460px;margin:48px auto;background:#fff;padding:32px 40px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:1.5rem;font-weight:600;margin:.2rem 0 1rem}
.brand{font-weight:600;color:#5e5e5e;letter-spacing:.02em}
ul.accounts{list-style:none;padding:0;margin:0}
ul.accounts li{display:flex;align-items:center;justify-content:space-between;gap:12px;
  padding:8px 0;border-bottom:1px solid #e6e6e6}
.who small{display:block;color:#5e5e5e}
button{font:inherit;padding:6px 14px;border:1px solid #8a8886;background:#fff;cursor:pointer}
button.primary{background:#0067b8;border-color:#0067b8;color:#fff}
.actions{display:flex;gap:8px;justify-content:flex-end;margin-top:24px}
.error{color:#a80000}
.hint{outline:2px solid #0067b8}
code{word-break:break-all}
"""


def page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body><main>"
            f'<div class="brand">Microsoft Entra ID emulator</div>{body}</main></body></html>')


def hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def sign_in(action: str, flow_id: str, app_name: str, accounts: list[tuple[dict[str, Any], dict[str, Any]]],
            hint: str | None, title: str = "Sign in") -> str:
    rows = []
    for tenant, user in accounts:
        hinted = hint is not None and hint.lower() == user["userPrincipalName"].lower()
        rows.append(
            f'<li{" class=hint" if hinted else ""}><span class="who">{escape(user["displayName"])}'
            f'<small>{escape(user["userPrincipalName"])} · {escape(tenant["displayName"])}</small></span>'
            f'<button type="submit" name="user" value="{escape(tenant["id"])}:{escape(user["id"])}">'
            f'Sign in as {escape(user["displayName"])}</button></li>')
    body = (f"<h1>{escape(title)}</h1><p>to continue to <strong>{escape(app_name)}</strong></p>"
            f'<form method="post" action="{escape(action)}">{hidden("flow", flow_id)}'
            f'<ul class="accounts" aria-label="Accounts">{"".join(rows)}</ul></form>')
    return page(f"{title} - {app_name}", body)


_DESCRIPTIONS = {
    "openid": "Sign you in",
    "profile": "View your basic profile",
    "email": "View your email address",
    "offline_access": "Maintain access to data you have given it access to",
}


def consent(action: str, flow_id: str, app_name: str, user: dict[str, Any], scopes: list[str],
            offer_org_consent: bool, for_org: bool = False) -> str:
    items = "".join(f"<li><strong>{escape(_DESCRIPTIONS.get(s, s))}</strong>"
                    f" <small>({escape(s)})</small></li>" for s in scopes)
    org = ""
    if offer_org_consent:
        org = ('<p><label><input type="checkbox" name="org_consent" value="1"> '
               "Consent on behalf of your organization</label></p>")
    who = "your organization" if for_org else escape(user["userPrincipalName"])
    body = (f"<h1>Permissions requested</h1><p><strong>{escape(app_name)}</strong> would like to:"
            f'</p><ul aria-label="Requested permissions">{items}</ul>'
            f"<p>Signed in as {escape(user['userPrincipalName'])}. Accepting grants these "
            f"permissions for {who}.</p>"
            f'<form method="post" action="{escape(action)}">{hidden("flow", flow_id)}{org}'
            f'<div class="actions"><button type="submit" name="decision" value="decline">Decline</button>'
            f'<button type="submit" class="primary" name="decision" value="accept">Accept</button>'
            f"</div></form>")
    return page(f"Permissions requested - {app_name}", body)


def admin_approval(action: str, flow_id: str, app_name: str, user: dict[str, Any], scopes: list[str]) -> str:
    items = "".join(f"<li>{escape(s)}</li>" for s in scopes)
    body = (f"<h1>Need admin approval</h1><p><strong>{escape(app_name)}</strong> needs permission "
            f"to access resources in your organization that only an admin can grant. Please ask an "
            f"admin to grant permission to this app before you can use it.</p>"
            f'<ul aria-label="Permissions needing an admin">{items}</ul>'
            f"<p>Signed in as {escape(user['userPrincipalName'])}.</p>"
            f'<form method="post" action="{escape(action)}">{hidden("flow", flow_id)}'
            f'<div class="actions"><button type="submit" name="decision" value="admin">'
            f"Sign in with an admin account</button>"
            f'<button type="submit" class="primary" name="decision" value="return">'
            f"Return to the application without granting consent</button></div></form>")
    return page(f"Need admin approval - {app_name}", body)


def error(code: int | None, error_name: str, message: str) -> str:
    label = f"AADSTS{code}" if code else error_name
    body = (f"<h1>Sorry, but we&rsquo;re having trouble signing you in.</h1>"
            f'<p class="error" role="alert"><strong>{escape(label)}</strong>: {escape(message)}</p>'
            f"<p>Error: <code>{escape(error_name)}</code></p>")
    return page(f"Sign-in error {label}", body)


def form_post(action: str, fields: dict[str, str]) -> str:
    """Entra's response_mode=form_post: a form that submits itself to the redirect URI."""
    inputs = "".join(hidden(k, v) for k, v in fields.items())
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Working...</title>'
            '</head><body onload="document.forms[0].submit()">'
            f'<form method="POST" name="hiddenform" action="{escape(action)}">{inputs}'
            "<noscript><p>Script is disabled. Click Submit to continue.</p>"
            '<input type="submit" value="Submit"></noscript></form></body></html>')


def signed_out() -> str:
    return page("Signed out", "<h1>You signed out of your account</h1>"
                "<p>It&rsquo;s a good idea to close all browser windows.</p>")
