"""Which scopes a sign-in asks for, by the mode rules of the settings."""

from __future__ import annotations

from membership.failures import SignInFailure
from membership.models import MicrosoftSettings, SignInMode
from membership.scopes import GRAPH_RESOURCE


def find_mode(name: str | None) -> SignInMode | None:
    """The enabled mode called ``name``; None for no name; SignInFailure for unknown or disabled."""
    if not name:
        return None
    mode = SignInMode.objects.filter(name=name, enabled=True).first()
    if mode is None:
        raise SignInFailure("unknown_mode", name[:50])
    return mode


def resolve_scopes(ms: MicrosoftSettings, mode: SignInMode | None) -> list[str]:
    """No mode → default scopes; mode with override → its scopes only; else default + mode scopes."""
    if mode is None:
        return ms.default_scope_list
    if mode.override_default_scopes:
        return mode.scope_list
    merged = {s.lower(): s for s in ms.default_scope_list}
    for scope in mode.scope_list:
        merged.setdefault(scope.lower(), scope)
    return list(merged.values())


def scope_key(scope: str) -> str:
    """Compare scopes as Entra does: case-insensitive, Graph's resource prefix optional."""
    scope = scope.strip()
    prefix = GRAPH_RESOURCE + "/"
    if scope.lower().startswith(prefix):
        scope = scope[len(prefix):]
    return scope.lower()


def missing_scopes(granted: str | list[str], wanted: list[str]) -> list[str]:
    have = {scope_key(s) for s in (granted.split() if isinstance(granted, str) else granted)}
    return [s for s in wanted if scope_key(s) not in have]
