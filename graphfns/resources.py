"""How functions address Graph resources and shape Graph's answers, for every family.

Path segments from callers are quoted so nothing reaches another path; pass-through requests are
checked segment by segment; collections come back whole or a page at a time with a cursor that
may only point back at the same collection.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from graphfns.errors import FunctionError
from graphfns.registry import LONE_SURROGATE, Call, has_lone_surrogate

SELECT = {"type": "array", "items": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9]*$"}, "maxItems": 50,
          "description": "Properties to return ($select)."}


def paging(top_max: int, items: str = "items") -> dict[str, Any]:
    """The paging parameters of a collection. Graph caps a page ($top) at 999 directory objects
    (users, groups) and at 1000 Outlook items (events, calendars)."""
    return {
        "top": {"type": "integer", "minimum": 1, "maximum": top_max, "description": "Page size."},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100000, "description": f"Stop after this many {items}."},
        "all_pages": {"type": "boolean", "default": True, "description": "Follow @odata.nextLink to the end."},
        "cursor": {"type": "string", "maxLength": 4000, "description": "next_cursor from a previous page."},
    }


PAGING = paging(999)  # directory collections

def segment(value: str) -> str:
    """A user-given id as one path segment: nothing in it can reach another path."""
    return quote(str(value), safe="")


def entity(body: Any) -> Any:
    """Graph's object without the @odata.context noise."""
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k != "@odata.context"}
    return body


def select(params: dict[str, Any]) -> dict[str, str]:
    return {"$select": ",".join(params["select"])} if params.get("select") else {}


def collection(call: Call, path: str, params: dict[str, Any], query: dict[str, Any],
               headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A Graph collection: every page (``{"value", "count"}``) or one page with ``next_cursor``."""
    if params.get("top"):
        query = {**query, "$top": params["top"]}
    if params.get("cursor") or not params.get("all_pages", True):
        if params.get("cursor"):
            body = call.client.request("GET", _cursor(call, path, params["cursor"]), headers=headers).body
        else:
            body = call.client.request("GET", path, params=query, headers=headers).body
        return {"value": body.get("value", []), "next_cursor": body.get("@odata.nextLink")}
    items = list(call.client.pages(path, params=query, headers=headers, limit=params.get("limit")))
    return {"value": items, "count": len(items)}


def _cursor(call: Call, path: str, cursor: str) -> str:
    # A cursor is Graph's nextLink for this very collection; anything else could send the token elsewhere.
    want, got = urlsplit(call.client.base + path), urlsplit(cursor)
    if (got.scheme, got.netloc) != (want.scheme, want.netloc) or unquote(got.path) != unquote(want.path):
        raise FunctionError("ValidationError", "cursor is not a next_cursor this function returned.", field="cursor")
    return cursor


# Characters Graph paths use literally: $value, $ref, roleTemplateId='…', OData function arguments.
_PATH_SAFE = "$@'()=,:;!*+~"
# The OData system segments a pass-through may use; $batch, $entity, $metadata and the like reach any resource.
_SYSTEM_SEGMENTS = {"$value", "$ref", "$count"}


def checked_path(call: Call, path: str) -> list[str]:
    """The decoded segments of a relative Graph path; a URL, another host, ``..`` or $batch is refused."""
    def refuse(why: str) -> FunctionError:
        return FunctionError("ValidationError", f"path: {why}", field="path")

    if not path.startswith("/") or path.startswith("//") or "://" in path or "\\" in path:
        raise refuse("give a Graph path such as /users/{id}/manager, not a URL.")
    if "?" in path or "#" in path:
        raise refuse("put query options in 'query', not in the path.")
    segments = []
    for raw in path[1:].removesuffix("/").split("/"):
        seg = unquote(raw)
        if seg in ("", ".", "..") or "/" in seg or "\\" in seg or any(ord(c) < 32 or ord(c) == 127 for c in seg):
            raise refuse("empty, '.', '..' and encoded '/' segments are not allowed.")
        if has_lone_surrogate(seg):
            raise refuse(LONE_SURROGATE)
        if seg.startswith("$") and seg.lower() not in _SYSTEM_SEGMENTS:
            raise refuse(f"of the $ segments only {', '.join(sorted(_SYSTEM_SEGMENTS))} are allowed, not {seg}.")
        segments.append(seg)
    if segments[0].lower() == "me" and not call.delegated:
        raise refuse("/me needs a member to act as: give auth_user_id, or use /users/{id}.")
    return segments


def is_type_cast(seg: str) -> bool:
    """An OData type cast segment such as microsoft.graph.group."""
    return seg.lower().startswith("microsoft.graph.")


def user_root(segments: list[str]) -> int:
    """How many leading segments name one user: 1 for /me, 2 for /users/{id}; 0 when they name no one user.

    {id} must be a key (an object id or a UPN), not $count, a function such as delta() or a type cast.
    """
    first = segments[0].lower()
    if first == "me":
        return 1
    if first == "users" and len(segments) >= 2:
        key = segments[1]
        if not (key.startswith("$") or "(" in key or is_type_cast(key)):
            return 2
    return 0


def joined(segments: list[str]) -> str:
    return "/" + "/".join(quote(s, safe=_PATH_SAFE) for s in segments)


REQUEST_PARAMS: dict[str, Any] = {
    "method": {"type": "string", "enum": ["GET", "POST", "PATCH", "PUT", "DELETE"]},
    "path": {"type": "string", "minLength": 2, "maxLength": 2000},
    "query": {"type": "object", "maxProperties": 20,
              "propertyNames": {"pattern": r"^\$?[A-Za-z][A-Za-z0-9]*$"},
              "additionalProperties": {"type": ["string", "integer", "boolean"]},
              "description": "Query options, e.g. {\"$select\": \"displayName\", \"$top\": 5}."},
    "body": {"type": "object", "description": "JSON body for POST, PATCH and PUT."},
    "headers": {"type": "object", "additionalProperties": False, "properties": {
        "ConsistencyLevel": {"type": "string", "enum": ["eventual"]},
        "Prefer": {"type": "string", "maxLength": 200, "pattern": r"^[ -~]*$"},  # a header: printable ASCII
    }},
}


def pass_through(call: Call, params: dict[str, Any], path: str) -> dict[str, Any]:
    """Send a checked pass-through request; Graph's status and body (binary bodies as base64)."""
    method = params["method"]
    if params.get("body") is not None and method not in ("POST", "PATCH", "PUT"):
        raise FunctionError("ValidationError", "body: only POST, PATCH and PUT take a body.", field="body")
    query = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in (params.get("query") or {}).items()}
    answer = call.client.request(method, path, params=query or None, json=params.get("body"),
                                 headers=params.get("headers") or None)
    if isinstance(answer.body, bytes):
        content_type = next((v for k, v in answer.headers.items() if k.lower() == "content-type"), "")
        return {"status": answer.status, "content_type": content_type,
                "body_base64": base64.b64encode(answer.body).decode()}
    return {"status": answer.status, "body": entity(answer.body)}
