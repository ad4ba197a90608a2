"""The function registry: every Graph function with its schema, permissions, description, example.

A function is a plain Python callable ``handler(call, params) -> result`` registered with
``@function(...)``. The registry is the single source for the HTTP catalog, the OpenAPI document,
the CLI and the README's function table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphfns.execution import Call

Handler = Callable[["Call", dict[str, Any]], Any]


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


REGISTRY: dict[str, Function] = {}

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


def load() -> dict[str, Function]:
    """The registry with every function family imported."""
    import graphfns.calendar
    import graphfns.users  # noqa: F401

    return REGISTRY
