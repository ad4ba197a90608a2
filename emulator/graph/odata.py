"""OData query options as Graph implements them: $select, $filter, $orderby, $top, paging, $search.

``$filter`` is parsed into a predicate once per request (a small recursive-descent parser), then
applied to each item. Each collection passes a ``FilterRules`` describing which properties and
functions it supports, so unsupported clauses fail the way that collection fails in Graph.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from emulator.graph.api import METADATA, GraphError

if TYPE_CHECKING:
    from emulator.app import Emulator
    from emulator.routing import Request

Item = dict[str, Any]
Predicate = Callable[[Item], bool]


# -- values -------------------------------------------------------------------------------------


def lookup(item: Item, path: str) -> Any:
    value: Any = item
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@lru_cache(maxsize=65536)
def parse_datetime(text: str) -> datetime:
    """Graph/Outlook date-times (7 fractional digits, optional Z or offset); naive means UTC.

    Cached: calendar views parse the same stored event times on every request.
    """
    dt = datetime.fromisoformat(text.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def try_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-":
        try:
            return parse_datetime(value)
        except ValueError:
            return None
    return None


# -- $filter ------------------------------------------------------------------------------------


@dataclass
class FilterRules:
    """What a collection's $filter supports, and how it says no."""

    properties: set[str]  # property paths, e.g. "displayName", "start/dateTime"
    resource: str  # for messages: "User", "Event"
    functions: set[str] = field(default_factory=lambda: {"startswith"})
    advanced_only: set[str] = field(default_factory=set)  # operators needing an advanced query
    advanced: bool = False  # this request runs as an advanced query (ConsistencyLevel + $count)
    case_insensitive: bool = True
    unknown_property: Callable[[str], GraphError] | None = None


_TOKEN = re.compile(
    r"(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])"
    r"|(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![\w-])"
    r"|(?P<dt>\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)"
    r"|(?P<num>-?\d+(?:\.\d+)?)(?![\w-])|(?P<word>[A-Za-z_$@][\w/.@$-]*)"
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_KEYWORDS = {"true": True, "false": False, "null": None}


def _syntax(text: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Invalid filter clause: syntax error in '{text}'.")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        if not m:
            raise _syntax(text)
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _FilterParser:
    def __init__(self, text: str, rules: FilterRules) -> None:
        self.text = text
        self.rules = rules
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise _syntax(self.text)
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            raise _syntax(self.text)

    def word_is(self, value: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and tok[1].lower() == value

    def parse(self) -> Predicate:
        pred = self.or_expr()
        if self.peek() is not None:
            raise _syntax(self.text)
        return pred

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.word_is("or"):
            self.take()
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        return lambda item: any(p(item) for p in parts)

    def and_expr(self) -> Predicate:
        parts = [self.unary()]
        while self.word_is("and"):
            self.take()
            parts.append(self.unary())
        if len(parts) == 1:
            return parts[0]
        return lambda item: all(p(item) for p in parts)

    def unary(self) -> Predicate:
        if self.word_is("not"):
            self.take()
            self.gate("not", "")
            inner = self.unary()
            return lambda item: not inner(item)
        return self.primary()

    def gate(self, op: str, prop: str) -> None:
        if op in self.rules.advanced_only and not self.rules.advanced:
            raise GraphError(400, "Request_UnsupportedQuery",
                             f"Unsupported or invalid query filter clause specified for property '{prop}' "
                             f"of resource '{self.rules.resource}'.")

    def prop(self) -> str:
        kind, name = self.take()
        if kind != "word" or name.lower() in _KEYWORDS:
            raise _syntax(self.text)
        known = {p.lower(): p for p in self.rules.properties}
        if name.lower() not in known:
            if self.rules.unknown_property:
                raise self.rules.unknown_property(name)
            raise GraphError(400, "Request_UnsupportedQuery", f"Unsupported query: property '{name}'.")
        return known[name.lower()]

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "guid":  # Edm.Guid literals go unquoted: resourceId eq 8e881353-...
            return text.lower()
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "dt":
            return parse_datetime(text)
        if kind == "word" and text.lower() in _KEYWORDS:
            return _KEYWORDS[text.lower()]
        raise _syntax(self.text)

    def primary(self) -> Predicate:
        tok = self.peek()
        if tok is None:
            raise _syntax(self.text)
        if tok[1] == "(":
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        if tok[0] == "word" and self.i + 1 < len(self.toks) and self.toks[self.i + 1][1] == "(":
            return self.function()
        path = self.prop()
        kind, op = self.take()
        op = op.lower()
        if op == "in":
            self.expect("(")
            values = [self.literal()]
            while self.peek() is not None and self.peek()[1] == ",":  # type: ignore[index]
                self.take()
                values.append(self.literal())
            self.expect(")")
            wanted = {self.norm(v) for v in values}
            return lambda item: self.norm(lookup(item, path)) in wanted
        if kind != "word" or op not in _COMPARE:
            raise _syntax(self.text)
        self.gate(op, path)
        value = self.literal()
        return self.comparison(path, op, value)

    def function(self) -> Predicate:
        name = self.take()[1].lower()
        if name not in self.rules.functions:
            raise GraphError(400, "Request_UnsupportedQuery",
                             f"Unsupported Query. The function '{name}' is not supported for resource "
                             f"'{self.rules.resource}'.")
        self.expect("(")
        path = self.prop()
        self.gate(name, path)
        self.expect(",")
        value = self.literal()
        self.expect(")")
        if not isinstance(value, str):
            raise _syntax(self.text)
        needle = value.lower() if self.rules.case_insensitive else value

        def check(item: Item) -> bool:
            got = lookup(item, path)
            if not isinstance(got, str):
                return False
            got = got.lower() if self.rules.case_insensitive else got
            if name == "startswith":
                return got.startswith(needle)
            if name == "endswith":
                return got.endswith(needle)
            return needle in got

        return check

    def norm(self, value: Any) -> Any:
        if isinstance(value, str):
            dt = try_datetime(value) if value[:1].isdigit() else None
            if dt is not None:
                return dt
            return value.lower() if self.rules.case_insensitive else value
        return value

    def comparison(self, path: str, op: str, value: Any) -> Predicate:
        want = self.norm(value)

        def check(item: Item) -> bool:
            got = self.norm(lookup(item, path))
            if op == "eq":
                return bool(got == want)
            if op == "ne":
                return bool(got != want)
            if got is None or want is None:
                return False
            try:
                if op == "gt":
                    return bool(got > want)
                if op == "ge":
                    return bool(got >= want)
                if op == "lt":
                    return bool(got < want)
                return bool(got <= want)
            except TypeError:
                return False

        return check


def parse_filter(text: str | None, rules: FilterRules) -> Predicate | None:
    if text is None or not text.strip():
        return None
    return _FilterParser(text, rules).parse()


# -- $select, $orderby, $search -------------------------------------------------------------------


def parse_select(req: Request, known: set[str], type_name: str) -> list[str] | None:
    raw = req.query.get("$select")
    if raw is None or not raw.strip():
        return None
    lowered = {k.lower(): k for k in known}
    out: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        if name.lower() not in lowered:
            raise GraphError(400, "BadRequest" if type_name == "event" else "Request_BadRequest",
                             f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.")
        if lowered[name.lower()] not in out:
            out.append(lowered[name.lower()])
    return out


def project(item: Item, fields: list[str], always: tuple[str, ...] = ()) -> Item:
    out = {k: item[k] for k in always if k in item}
    for f in fields:
        out[f] = item.get(f)
    return out


def parse_orderby(req: Request, allowed: set[str], code: str = "Request_UnsupportedQuery") -> list[tuple[str, bool]]:
    raw = req.query.get("$orderby")
    if raw is None or not raw.strip():
        return []
    lowered = {a.lower(): a for a in allowed}
    keys: list[tuple[str, bool]] = []
    for part in raw.split(","):
        bits = part.split()
        if not bits or len(bits) > 2 or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc")):
            raise GraphError(400, "BadRequest", f"Invalid $orderby clause '{raw}'.")
        if bits[0].lower() not in lowered:
            raise GraphError(400, code, "Sorting not supported for current query.")
        keys.append((lowered[bits[0].lower()], len(bits) == 2 and bits[1].lower() == "desc"))
    return keys


def sort_items(items: list[Item], keys: list[tuple[str, bool]]) -> list[Item]:
    def key_for(path: str) -> Callable[[Item], Any]:
        def key(item: Item) -> Any:
            v = lookup(item, path)
            if v is None:
                return (0, "")
            dt = try_datetime(v) if isinstance(v, str) and v[:1].isdigit() else None
            if dt is not None:
                return (1, dt.isoformat())
            return (1, v.lower() if isinstance(v, str) else v)

        return key

    out = list(items)
    for path, desc in reversed(keys):  # stable sorts, least significant key first
        out.sort(key=key_for(path), reverse=desc)
    return out


_SEARCH_CLAUSE = re.compile(r'\s*"(?P<prop>[A-Za-z]+):(?P<term>[^"]*)"\s*')
_WORD_SPLIT = re.compile(r"[\s\-_.@,;/()]+")


def parse_search(text: str, properties: set[str]) -> Predicate:
    """``"displayName:wa" AND "mail:contoso"``: tokenized prefix matching, as directory search does."""
    lowered = {p.lower(): p for p in properties}
    clauses: list[tuple[str, str]] = []
    joins: list[str] = []
    pos = 0
    while True:
        m = _SEARCH_CLAUSE.match(text, pos)
        if not m:
            raise GraphError(400, "Request_UnsupportedQuery",
                             "Syntax error: the $search clause must look like \"property:term\".")
        prop = m.group("prop").lower()
        if prop not in lowered:
            raise GraphError(400, "Request_UnsupportedQuery",
                             f"Search is not supported on property '{m.group('prop')}'.")
        clauses.append((lowered[prop], m.group("term").lower()))
        pos = m.end()
        if pos >= len(text):
            break
        j = re.match(r"(AND|OR)\b", text[pos:])
        if not j:
            raise GraphError(400, "Request_UnsupportedQuery",
                             "Syntax error: the $search clauses must be joined with AND or OR.")
        joins.append(j.group(1))
        pos += j.end()

    def match(item: Item, prop: str, term: str) -> bool:
        value = item.get(prop)
        if not isinstance(value, str):
            return False
        if not term:
            return True
        low = value.lower()
        return low.startswith(term) or any(w.startswith(term) for w in _WORD_SPLIT.split(low))

    def predicate(item: Item) -> bool:
        result = match(item, *clauses[0])
        for join, clause in zip(joins, clauses[1:], strict=True):
            result = (result and match(item, *clause)) if join == "AND" else (result or match(item, *clause))
        return result

    return predicate


# -- paging -------------------------------------------------------------------------------------


def parse_top(req: Request, default: int, maximum: int, code: str = "Request_UnsupportedQuery") -> int:
    raw = req.query.get("$top")
    if raw is None:
        return default
    try:
        top = int(raw)
    except ValueError as exc:
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for query option $top.") from exc
    if top < 1 or top > maximum:
        raise GraphError(400, code, f"Invalid page size specified: '{top}'. Must be between 1 and {maximum} inclusive.")
    return top


def encode_skiptoken(offset: int) -> str:
    raw = json.dumps({"o": offset}, separators=(",", ":")).encode()
    return "RFNwdAIA" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_skiptoken(token: str) -> int:
    try:
        if not token.startswith("RFNwdAIA"):
            raise ValueError(token)
        body = token[8:]
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        offset = int(data["o"])
        if offset < 0:
            raise ValueError(token)
        return offset
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise GraphError(400, "Request_BadRequest", "Invalid skip token value.") from exc


def next_link(emu: Emulator, req: Request, replace: dict[str, str], drop: tuple[str, ...] = ()) -> str:
    query = {k: v for k, v in req.query.items() if k not in replace and k not in drop}
    query.update(replace)
    return f"{emu.base_url}{req.path}?{urlencode(query, quote_via=quote, safe='$,()/:=')}"


def page_by_skiptoken(emu: Emulator, req: Request, items: list[Item], top: int) -> tuple[list[Item], str | None]:
    token = req.query.get("$skiptoken")
    offset = decode_skiptoken(token) if token else 0
    chunk = items[offset:offset + top]
    more = offset + top < len(items)
    link = next_link(emu, req, {"$skiptoken": encode_skiptoken(offset + top)}) if more else None
    return chunk, link


def directory_page(emu: Emulator, req: Request, items: list[Item], fragment: str, select: list[str] | None = None,
                   view: Callable[[Item], Item] | None = None) -> dict[str, Any]:
    """One page of a directory collection as Graph answers it: $top 100 by default (999 at most),
    ``@odata.nextLink`` with a $skiptoken while more remain; ``view`` shapes each item of the page."""
    chunk, link = page_by_skiptoken(emu, req, items, parse_top(req, 100, 999))
    body: dict[str, Any] = {"@odata.context": context(fragment, select)}
    if link:
        body["@odata.nextLink"] = link
    body["value"] = [view(item) for item in chunk] if view else chunk
    return body


def page_by_skip(emu: Emulator, req: Request, items: list[Item], top: int) -> tuple[list[Item], str | None]:
    raw = req.query.get("$skip", "0")
    try:
        offset = int(raw)
        if offset < 0:
            raise ValueError(raw)
    except ValueError as exc:
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for query option $skip.") from exc
    chunk = items[offset:offset + top]
    more = offset + top < len(items)
    link = next_link(emu, req, {"$skip": str(offset + top), "$top": str(top)}) if more else None
    return chunk, link


def context(fragment: str, select: list[str] | None = None) -> str:
    return f"{METADATA}#{fragment}" + (f"({','.join(select)})" if select else "")


def want_count(req: Request) -> bool:
    return req.query.get("$count", "").lower() == "true"


def eventual(req: Request) -> bool:
    return str(req.headers.get("consistencylevel", "")).lower() == "eventual"
