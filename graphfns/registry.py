"""The function registry: every Graph function with its schema, permissions, description, example.

A function is a plain Python callable ``handler(call, params) -> result`` registered with
``@function(...)``; ``Call`` is what the handler is given. The registry is the single source for the
HTTP catalog, the OpenAPI document, the CLI and the README's function table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.contrib.auth.models import AbstractBaseUser

from graphfns.client import GraphClient
from graphfns.errors import FunctionError
from membership.models import MicrosoftAccount
from membership.validators import is_guid


@dataclass(frozen=True)
class Function:
    name: str  # "<family>.<verb>", e.g. "users.get"
    description: str
    params: dict[str, Any]  # JSON Schema (object) for the parameters
    delegated: tuple[str, ...]  # delegated scopes: any one of them is enough; () = no delegated use
    application: tuple[str, ...]  # application permissions: any one is enough; () = no app use
    example: dict[str, Any]
    handler: Handler = field(compare=False, repr=False)
    bulk: bool = False  # uses $batch; reports progress when run in the background
    writes: bool = False

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "params_schema": self.params,
            "delegated_scopes": list(self.delegated),
            "application_permissions": list(self.application),
            "example": self.example,
            "writes": self.writes,
            "bulk": self.bulk,
        }


Handler = Callable[["Call", dict[str, Any]], Any]
REGISTRY: dict[str, Function] = {}


LONE_SURROGATE = "the text holds a lone surrogate (such as \\ud800), which is not a character and cannot be sent."
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def has_lone_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


Progress = Callable[[int, int], None]


@dataclass
class Call:
    """What a function handler works with: the Graph client, who acts, and helpers."""

    function: Function
    client: GraphClient
    mode: str  # "delegated" | "application"
    auth_user: AbstractBaseUser | None
    account: MicrosoftAccount | None
    idempotency_key: str | None = None
    progress: Progress | None = None

    @property
    def delegated(self) -> bool:
        return self.mode == "delegated"

    def user_path(self, user_id: str) -> str:
        """The Graph path of a user: 'me', a platform user id, an object id or a UPN."""
        user_id = str(user_id).strip()
        if has_lone_surrogate(user_id):
            raise FunctionError("ValidationError", f"user_id: {LONE_SURROGATE}", field="user_id")
        if user_id.lower() == "me":
            if not self.delegated:
                raise FunctionError("ValidationError", "user_id 'me' needs a member to act as: give auth_user_id.",
                                    field="user_id")
            return "/me"
        if user_id.isascii() and user_id.isdigit():
            account = MicrosoftAccount.objects.of_member(int(user_id))
            if account is None:
                raise FunctionError("NotConnected", f"Platform user {user_id} has no connected Microsoft account.",
                                    field="user_id")
            return f"/users/{account.object_id}"
        if is_guid(user_id) or re.fullmatch(r"[^@\s/]+@[^@\s/]+", user_id):
            return f"/users/{quote(user_id)}"
        raise FunctionError("ValidationError", "user_id must be 'me', a platform user id, a Microsoft object id or "
                            "a user principal name.", field="user_id")

    def report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

# Shared parameter schemas.
USER_ID = {
    "type": "string", "minLength": 1, "maxLength": 320,
    "description": "Whose resource: 'me', a platform user id, a Microsoft object id or a UPN.",
}


def schema(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or [], "additionalProperties": False}


def function(name: str, *, description: str, params: dict[str, Any], delegated: tuple[str, ...] | list[str],
             application: tuple[str, ...] | list[str], example: dict[str, Any], bulk: bool = False,
             writes: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in REGISTRY:
            raise ValueError(f"Graph function {name} registered twice")
        REGISTRY[name] = Function(name, description, params, tuple(delegated), tuple(application), example, handler,
                                  bulk, writes)
        return handler

    return register


def function_named(name: str) -> Function:
    """The function called ``name``, or FunctionError ``UnknownFunction`` (the one check every caller makes)."""
    fn = load().get(name)
    if fn is None:
        raise FunctionError("UnknownFunction", f"There is no function {name!r}. The function list (the API's "
                            "functions/ or `manage.py graph list`) names them.")
    return fn


def load() -> dict[str, Function]:
    """The registry: every function family (graphfns.apps.FUNCTION_FAMILIES) registers itself when the
    app is ready."""
    return REGISTRY
