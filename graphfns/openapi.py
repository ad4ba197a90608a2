"""The OpenAPI 3.1 document of the HTTP API, generated from the function registry and the error catalog.

Every function gets its own execute operation (``POST <api>/functions/<name>/execute``) whose
request body carries that function's parameter schema, so clients and generators see real types.
The paths follow wherever the site mounts ``graphfns.urls`` (``/api/`` in the reference site).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.urls import reverse

from graphfns.authentication import MAX_ID
from graphfns.errors import CATALOG
from graphfns.registry import Function, load

# The errors each kind of operation can answer, besides its success.
AUTH_ERRORS = ["AuthenticationRequired", "PermissionDenied"]
EXECUTE_ERRORS = list(CATALOG)  # a function call can end in any catalog error
TASK_ERRORS = [*AUTH_ERRORS, "TaskNotFound", "TaskResultsUnavailable", "QueueUnavailable"]
CACHE_ERRORS = [*AUTH_ERRORS]


def api_root() -> str:
    """Where the site mounts graphfns.urls, without the trailing slash ("/api" in the reference site)."""
    return reverse("graphfns:openapi").removesuffix("openapi.json").rstrip("/")


def document() -> dict[str, Any]:
    functions = sorted(load().values(), key=lambda f: f.name)
    api = api_root()
    paths: dict[str, Any] = {
        f"{api}/functions/": {"get": {
            "operationId": "listFunctions", "tags": ["catalog"], "summary": "Every function with its parameters",
            "security": [],
            "responses": {"200": _json("The function catalog", {
                "type": "object", "required": ["functions"],
                "properties": {"functions": {"type": "array", "items": {"$ref": "#/components/schemas/Function"}}},
            })},
        }},
        f"{api}/functions/{{name}}/": {"get": {
            "operationId": "getFunction", "tags": ["catalog"], "summary": "One function with its parameters",
            "security": [],
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
                            "example": "users.get"}],
            "responses": {"200": _json("The function", {"$ref": "#/components/schemas/Function"}),
                          **_errors(["UnknownFunction"])},
        }},
        f"{api}/openapi.json": {"get": {
            "operationId": "openapi", "tags": ["catalog"], "summary": "This document", "security": [],
            "responses": {"200": _json("OpenAPI 3.1", {"type": "object"})},
        }},
        f"{api}/tasks/{{task_id}}": {"get": {
            "operationId": "getTask", "tags": ["tasks"],
            "summary": "The state of a background call, and its result or error once done",
            "description": "Only the caller who submitted the task (or a superuser) can read it.",
            "parameters": [{"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json("The task", {"$ref": "#/components/schemas/Task"}), **_errors(TASK_ERRORS)},
        }},
        f"{api}/settings/cache/aad": {"post": {
            "operationId": "clearApplicationTokenCache", "tags": ["settings"],
            "summary": "Forget the cached application token (the next application call fetches a new one)",
            "description": "Needs an API key that is not delegated-only, or a staff member's session.",
            "responses": {"200": _json("Whether a cached token was removed", {
                "type": "object", "required": ["cleared"], "properties": {"cleared": {"type": "boolean"}},
            }), **_errors(CACHE_ERRORS)},
        }},
    }
    for fn in functions:
        paths[f"{api}/functions/{fn.name}/execute"] = {"post": _execute_operation(fn, api)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Microsoft Graph functions",
            "version": "1",
            "description": "Microsoft 365 Users and Calendar functions, run as a member (delegated, "
                           "`auth_user_id`) or as the application. Errors carry a stable code; see the Error schema.",
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer",
                           "description": "An API key made in the admin: `Authorization: Bearer gfn_…`."},
                "session": {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME,
                            "description": "A signed-in member's session. POST needs the CSRF token in "
                                           "`X-CSRFToken`. Members act only as themselves."},
            },
            "schemas": {"Error": _error_schema(), "Function": _function_schema(), "Task": _task_schema()},
        },
    }


def _execute_operation(fn: Function, api: str) -> dict[str, Any]:
    modes = []
    if fn.delegated:
        modes.append(f"as a member (delegated scopes, any one of: {', '.join(fn.delegated)})")
    if fn.application:
        modes.append(f"as the application (permissions, any one of: {', '.join(fn.application)})")
    body = {
        "type": "object",
        "properties": {
            "params": fn.params,
            "auth_user_id": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_ID,
                             "description": "The platform user to act as (delegated); null: the application. "
                                            "Left out: the signed-in member, or the application for an API key."},
            "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 200,
                                "description": "Repeat a write with the same key to have it done once."},
        },
        "additionalProperties": False,
    }
    return {
        "operationId": "execute_" + fn.name.replace(".", "_"),
        "tags": [fn.family],
        "summary": fn.description,
        "description": "Runs " + " or ".join(modes) + ".",
        "parameters": [{"name": "async", "in": "query", "required": False,
                        "schema": {"type": "string", "enum": ["0", "1", "true", "false"]},
                        "description": "1: queue the call and answer 202 with a task id."}],
        "requestBody": {"required": False, "content": {"application/json": {
            "schema": body, "example": {"params": fn.example}}}},
        "responses": {
            "200": _json("The function's result", {"type": "object", "required": ["result"],
                                                   "properties": {"result": {}}}),
            "202": _json(f"Queued (async=1): poll GET {api}/tasks/{{task_id}}", {
                "type": "object", "required": ["task_id"], "properties": {"task_id": {"type": "string"}}}),
            **_errors(EXECUTE_ERRORS),
            "4XX": _json("GraphError with Graph's own status: Microsoft Graph refused the request as made",
                         {"$ref": "#/components/schemas/Error"}),
        },
    }


def _errors(codes: list[str]) -> dict[str, Any]:
    by_status: dict[int, list[str]] = defaultdict(list)
    for code in codes:
        by_status[CATALOG[code].status].append(code)
    return {str(status): _json("Error: " + ", ".join(names), {"$ref": "#/components/schemas/Error"})
            for status, names in sorted(by_status.items())}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object", "required": ["error"],
        "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": list(CATALOG)},
                "message": {"type": "string", "description": "What happened and what to do."},
                "details": {"type": "object", "description": "E.g. the fields in error, Graph's code and "
                                                              "request-id, a reconnect URL, Retry-After."},
            },
        }},
        "description": "\n".join(f"* `{k.code}` ({k.status}): {k.message}" for k in CATALOG.values()),
    }


def _function_schema() -> dict[str, Any]:
    strings = {"type": "array", "items": {"type": "string"}}
    return {
        "type": "object",
        "required": ["name", "family", "description", "params_schema", "delegated_scopes",
                     "application_permissions", "example", "writes", "bulk"],
        "properties": {
            "name": {"type": "string"}, "family": {"type": "string"}, "description": {"type": "string"},
            "params_schema": {"type": "object"}, "delegated_scopes": strings, "application_permissions": strings,
            "example": {"type": "object"}, "writes": {"type": "boolean"}, "bulk": {"type": "boolean"},
        },
    }


def _task_schema() -> dict[str, Any]:
    return {
        "type": "object", "required": ["task_id", "function", "state"],
        "properties": {
            "task_id": {"type": "string"},
            "function": {"type": "string"},
            "state": {"type": "string", "enum": ["pending", "running", "succeeded", "failed"]},
            "progress": {"type": "object", "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}}},
            "result": {"description": "The function's result (state succeeded)."},
            "error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                                       "details": {"type": "object"}}},
        },
    }
