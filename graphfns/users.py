"""Microsoft 365 Users: the users family of Graph functions."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from graphfns.execution import Call
from graphfns.registry import USER_ID, function, schema

READ_ONE = ("User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
READ_ALL = ("User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
APP_READ = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
SELECT = {"type": "array", "items": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9]*$"}, "maxItems": 50,
          "description": "Properties to return ($select)."}


def _select(params: dict[str, Any]) -> dict[str, str]:
    return {"$select": ",".join(params["select"])} if params.get("select") else {}


@function(
    "users.get",
    description="One user's profile.",
    params=schema({"user_id": USER_ID, "select": SELECT}, ["user_id"]),
    delegated=READ_ONE,
    application=APP_READ,
    example={"user_id": "me", "select": ["displayName", "mail"]},
)
def get(call: Call, params: dict[str, Any]) -> Any:
    return call.client.get(call.user_path(params["user_id"]), params=_select(params))


@function(
    "users.list",
    description="Users of the directory, filtered, searched and ordered; all pages, or one page with a cursor.",
    params=schema({
        "filter": {"type": "string", "maxLength": 2000, "description": "OData $filter, e.g. startswith(displayName,'A')"},
        "search": {"type": "string", "maxLength": 200, "description": "$search, e.g. \"displayName:lee\""},
        "orderby": {"type": "string", "maxLength": 100, "description": "e.g. displayName desc"},
        "select": SELECT,
        "top": {"type": "integer", "minimum": 1, "maximum": 999, "description": "Page size."},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100000, "description": "Stop after this many users."},
        "all_pages": {"type": "boolean", "default": True, "description": "Follow @odata.nextLink to the end."},
        "cursor": {"type": "string", "maxLength": 4000, "description": "next_cursor from a previous page."},
    }),
    delegated=READ_ALL,
    application=APP_READ,
    example={"filter": "startswith(displayName,'L')", "select": ["displayName", "userPrincipalName"], "top": 50},
)
def list_(call: Call, params: dict[str, Any]) -> Any:
    query: dict[str, Any] = _select(params)
    headers: dict[str, str] = {}
    if params.get("filter"):
        query["$filter"] = params["filter"]
    if params.get("orderby"):
        query["$orderby"] = params["orderby"]
    if params.get("top"):
        query["$top"] = params["top"]
    if params.get("search"):
        search = params["search"]
        query["$search"] = search if search.startswith('"') else f'"{search}"'
        query["$count"] = "true"
        headers["ConsistencyLevel"] = "eventual"  # $search needs advanced query mode
    if params.get("cursor") or not params.get("all_pages", True):
        start = _cursor_url(call, params["cursor"]) if params.get("cursor") else "/users"
        body = call.client.request("GET", start, params=None if params.get("cursor") else query,
                                   headers=headers).body
        return {"value": body.get("value", []), "next_cursor": body.get("@odata.nextLink")}
    users = list(call.client.pages("/users", params=query, headers=headers, limit=params.get("limit")))
    return {"value": users, "count": len(users)}


def _cursor_url(call: Call, cursor: str) -> str:
    # A cursor is Graph's nextLink; accept only links back to the configured Graph endpoint.
    if not cursor.startswith(call.client.base + "/users"):
        from graphfns.errors import FunctionError

        raise FunctionError("ValidationError", "cursor is not a next_cursor this API returned.", field="cursor")
    return cursor


__all__ = ["get", "list_", "quote"]
