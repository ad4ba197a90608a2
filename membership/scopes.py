"""Delegated permission scopes: parsing what admins type, comparing scopes as Entra does, and the OpenID
scopes every sign-in asks for. Which scopes a sign-in asks for is ``MicrosoftSettings.scopes_for(mode)``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

GRAPH_RESOURCE = "https://graph.microsoft.com"

# Requested on every sign-in by MSAL itself; passing them again makes MSAL raise.
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})
# OpenID Connect's `email` is not added by MSAL: the sign-in asks for it, so that the id_token carries
# the member's address.
EMAIL_SCOPE = "email"
# Not Graph permissions: always requested, never typed by admins, stored as granted or required.
OIDC_SCOPES = RESERVED_SCOPES | {EMAIL_SCOPE}

_SHORT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")


class ScopeError(ValueError):
    pass


@dataclass
class ParsedScopes:
    scopes: list[str]
    removed_reserved: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return " ".join(self.scopes)


def resource_of(scope: str) -> str:
    """The resource a scope belongs to: Graph for short names, else the URI without the last part."""
    if "://" not in scope:
        return GRAPH_RESOURCE
    return scope.rsplit("/", 1)[0].lower()


def _check_one(scope: str) -> None:
    if "://" in scope:
        parts = urlsplit(scope)
        name = parts.path.rsplit("/", 1)[-1]
        if parts.scheme not in ("https", "api") or not parts.netloc or not name:
            raise ScopeError(
                f"“{scope}” is not a valid scope. Use a permission name such as Calendars.Read, or a "
                "full URI such as https://graph.microsoft.com/Calendars.Read."
            )
        if name != ".default" and not _SHORT.match(name):
            raise ScopeError(f"“{scope}” does not end in a permission name such as Calendars.Read.")
    elif not _SHORT.match(scope):
        raise ScopeError(
            f"“{scope}” is not a valid scope name. Permission names look like User.Read or "
            "Calendars.ReadWrite (letters, digits and dots)."
        )


def parse_scopes(text: str) -> ParsedScopes:
    """Split on spaces, commas or newlines; validate; drop duplicates and the OpenID scopes (always requested).

    Raises ScopeError with a sentence saying what to change.
    """
    seen: dict[str, str] = {}
    removed: list[str] = []
    for raw in re.split(r"[\s,;]+", text or ""):
        scope = raw.strip()
        if not scope:
            continue
        if scope.lower() in OIDC_SCOPES:
            if scope.lower() not in removed:
                removed.append(scope.lower())
            continue
        _check_one(scope)
        seen.setdefault(scope.lower(), scope)
    scopes = list(seen.values())
    resources = {resource_of(s) for s in scopes}
    if len(resources) > 1:
        raise ScopeError(
            "These scopes belong to different resources ("
            + ", ".join(sorted(resources))
            + "). Microsoft allows one resource per sign-in: keep the scopes of one."
        )
    if any(s.endswith("/.default") for s in scopes) and len(scopes) > 1:
        raise ScopeError("“.default” asks for every configured permission and cannot be combined with other scopes.")
    return ParsedScopes(scopes, removed)


def scope_key(scope: str) -> str:
    """Compare scopes as Entra does: case-insensitive, Graph's resource prefix optional."""
    scope = scope.strip()
    prefix = GRAPH_RESOURCE + "/"
    if scope.lower().startswith(prefix):
        scope = scope[len(prefix):]
    return scope.lower()


def missing_scopes(granted: str | list[str], wanted: list[str]) -> list[str]:
    """The scopes of ``wanted`` that ``granted`` (a space-separated string or a list) lacks."""
    have = {scope_key(s) for s in (granted.split() if isinstance(granted, str) else granted)}
    return [s for s in wanted if scope_key(s) not in have]
