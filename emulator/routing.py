"""Requests, responses and the route table shared by every part of the emulator.

Handlers are plain functions ``handler(emu, request) -> Response`` registered with
``@route(method, pattern)``. Patterns use ``{name}`` for one path segment, or for part of one
(``servicePrincipals(appId='{app_id}')``, Graph's alternate keys); literal segments match
case-insensitively (Graph paths are case-insensitive) and win over parameters when both match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode

if TYPE_CHECKING:
    from emulator.app import Emulator


class Headers(dict[str, str]):
    """Case-insensitive header mapping (keys stored lower-case)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__()
        pairs = items.items() if hasattr(items, "items") else items
        for key, value in pairs:
            self[key] = value

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    route: str = ""  # the matched pattern, for counters

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))

    @property
    def bearer_token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: Headers = field(default_factory=Headers)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    h = Headers(headers or {})
    h.setdefault("content-type", "application/json; charset=utf-8")
    return Response(status, body, h)


def html_response(html: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    h = Headers(headers or {})
    h.setdefault("content-type", "text/html; charset=utf-8")
    h.setdefault("cache-control", "no-store")
    return Response(status, html.encode(), h)


def redirect(url: str, status: int = 302) -> Response:
    return Response(status, b"", Headers({"location": url, "cache-control": "no-store"}))


def add_query(url: str, params: dict[str, str]) -> str:
    sep = "&" if "?" in url else "?"
    return url + sep + urlencode(params, quote_via=quote)


Handler = Callable[["Emulator", Request], Response]

_PARAM = re.compile(r"^\{(\w+)\}$")
_INNER_PARAM = re.compile(r"\{(\w+)\}")


@cache
def _segment_pattern(seg: str) -> re.Pattern[str] | None:
    """A segment with literal text around a parameter, as a regex (None for a plain segment)."""
    if _PARAM.match(seg) or not _INNER_PARAM.search(seg):
        return None
    parts = _INNER_PARAM.split(seg)  # literal, name, literal, name, ..., literal
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+?)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$", re.IGNORECASE)


@dataclass
class _Route:
    method: str
    pattern: str
    segments: list[str]
    handler: Handler

    @property
    def literal_count(self) -> int:
        return sum(1 for s in self.segments if not _PARAM.match(s))

    def match(self, parts: list[str]) -> dict[str, str] | None:
        if len(parts) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for seg, part in zip(self.segments, parts, strict=True):
            m = _PARAM.match(seg)
            if m:
                if not part:
                    return None
                params[m.group(1)] = part
                continue
            inner = _segment_pattern(seg)
            if inner is not None:
                found = inner.match(part)
                if found is None:
                    return None
                params.update(found.groupdict())
            elif seg.lower() != part.lower():
                return None
        return params


class NoRoute(Exception):
    def __init__(self, allowed: list[str]) -> None:
        super().__init__("no route")
        self.allowed = allowed  # non-empty: the path exists for other methods


class Router:
    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._routes.append(
                _Route(method.upper(), pattern, pattern.strip("/").split("/"), handler)
            )
            return handler

        return register

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str], str]:
        parts = path.strip("/").split("/")
        best: tuple[int, _Route, dict[str, str]] | None = None
        allowed: list[str] = []
        for r in self._routes:
            params = r.match(parts)
            if params is None:
                continue
            if r.method != method.upper():
                allowed.append(r.method)
                continue
            if best is None or r.literal_count > best[0]:
                best = (r.literal_count, r, params)
        if best is None:
            raise NoRoute(allowed)
        return best[1].handler, best[2], best[1].pattern


router = Router()
route = router.route
