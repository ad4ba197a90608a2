"""``GET /users/delta``: the users delta query, with page links that can be fetched again.

A round covers the changes stamped in ``(since, upto]`` of the tenant's change sequence
(emulator/directory.py): the first round starts at 0 and leaves out deleted users, later rounds start
where the previous deltaLink ended. A page is "the round's objects ordered by id, after the last id
the previous page returned", so a stored nextLink fetched again gives the same page and a round
resumed half-way misses and repeats nothing. A change made during a round is stamped past ``upto``:
it comes in the next round.

Tokens are base64url JSON with an HMAC whose key lives in the emulator's runtime state: a reset (or a
tampered token) makes every earlier token unknown, which Graph answers like an expired one — 400
``syncStateNotFound``; so does a token older than 7 days (Graph's lifetime for directory delta
links). An unreadable token is a 400 ``Request_BadRequest``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import hmac
import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from emulator.graph import odata
from emulator.graph.api import GraphError, graph_route, ok
from emulator.graph.auth import Caller, perm
from emulator.graph.users import KNOWN_PROPERTIES, view

if TYPE_CHECKING:
    from emulator.app import Emulator
    from emulator.routing import Request, Response

USERS_DELTA = perm("User.Read.All User.ReadWrite.All Directory.Read.All Directory.ReadWrite.All",
                   "User.Read.All User.ReadWrite.All Directory.Read.All Directory.ReadWrite.All")
DEFAULT_PAGE = 100
MAX_PAGE = 999
TOKEN_LIFETIME = 7 * 24 * 3600
_MAXPAGESIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)


def _key(emu: Emulator) -> bytes:
    key: bytes = emu.runtime.setdefault("delta_key", secrets.token_bytes(32))
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_token(emu: Emulator, state: dict[str, Any]) -> str:
    body = _b64(json.dumps(state, separators=(",", ":")).encode())
    return body + "." + _b64(hmac.new(_key(emu), body.encode(), hashlib.sha256).digest()[:18])


def _sync_state_not_found() -> GraphError:
    return GraphError(400, "syncStateNotFound",
                      "The sync state generation is not found. The delta token is expired and data must be "
                      "synchronized again.")


def decode_token(emu: Emulator, token: str, tenant_id: str) -> dict[str, Any]:
    body, _, mac = token.partition(".")
    try:
        state = json.loads(_unb64(body))
        given = _unb64(mac)
        if not isinstance(state, dict):
            raise ValueError(token)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise GraphError(400, "Request_BadRequest", "The delta token or skip token is not valid.") from exc
    wanted = hmac.new(_key(emu), body.encode(), hashlib.sha256).digest()[:18]
    if not hmac.compare_digest(given, wanted) or state.get("t") != tenant_id:
        raise _sync_state_not_found()
    if emu.now() - float(state.get("i", 0)) > TOKEN_LIFETIME:
        raise _sync_state_not_found()
    return state


def _page_size(req: Request, remembered: int | None) -> tuple[int, bool]:
    """``Prefer: odata.maxpagesize=N`` (capped), else the size the round started with, else 100."""
    m = _MAXPAGESIZE.search(str(req.headers.get("prefer", "")))
    if m:
        return max(1, min(int(m.group(1)), MAX_PAGE)), True
    return remembered or DEFAULT_PAGE, False


def _link(emu: Emulator, name: str, token: str) -> str:
    return f"{emu.base_url}/v1.0/users/delta?{name}={token}"


@graph_route("GET", "/users/delta", "/users/delta()", "/users/microsoft.graph.delta", "/users/microsoft.graph.delta()")
def users_delta(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(USERS_DELTA)
    tenant = caller.tenant
    tid = tenant["id"]
    now = emu.now()
    current = int(tenant.get("_change_seq", 0))
    skiptoken, deltatoken = req.query.get("$skiptoken"), req.query.get("$deltatoken")
    if skiptoken:
        state = decode_token(emu, skiptoken, tid)
        since, upto, after = int(state["s"]), int(state["u"]), str(state.get("a", ""))
        select, remembered = state.get("sel"), state.get("n")
        started = float(state["i"])  # the round's links all carry its start: a page fetched again is the same
    elif deltatoken and deltatoken.lower() == "latest":
        # Only a deltaLink for "from now on": no objects (Graph's $deltatoken=latest).
        select = odata.parse_select(req, KNOWN_PROPERTIES, "user")
        token = encode_token(emu, {"t": tid, "s": current, "sel": select, "i": now})
        return ok(req, {"@odata.context": odata.context("users", select), "@odata.deltaLink": _link(
            emu, "$deltatoken", token), "value": []})
    elif deltatoken:
        state = decode_token(emu, deltatoken, tid)
        since, upto, after = int(state["s"]), current, ""
        select, remembered = state.get("sel"), state.get("n")
        started = now
    else:
        since, upto, after = 0, current, ""
        select, remembered = odata.parse_select(req, KNOWN_PROPERTIES, "user"), None
        started = now
    size, preferred = _page_size(req, remembered)

    def in_round(obj: dict[str, Any]) -> bool:
        return since < int(obj.get("_changed", 0)) <= upto and obj["id"] > after

    candidates: list[tuple[str, str, dict[str, Any]]] = [("user", u["id"], u) for u in tenant["users"] if in_round(u)]
    if since > 0:  # the first round lists the directory as it is; removals only matter after it
        candidates += [("changed", u["id"], u) for u in tenant["deletedUsers"] if in_round(u)]
        candidates += [("deleted", t["id"], t) for t in tenant["purgedUsers"] if in_round(t)]
    page = heapq.nsmallest(size + 1, candidates, key=lambda c: c[1])
    more = len(page) > size
    page = page[:size]
    fields = list(select or [])
    values: list[dict[str, Any]] = []
    for kind, oid, obj in page:
        if kind == "user":
            out = view(obj, fields or None)
            out.setdefault("id", oid)
            values.append(out)
        else:
            values.append({"id": oid, "@removed": {"reason": kind}})
    body: dict[str, Any] = {"@odata.context": odata.context("users", select)}
    if more:
        token = encode_token(emu, {"t": tid, "s": since, "u": upto, "a": page[-1][1], "sel": select,
                                   "n": size, "i": started})
        body["@odata.nextLink"] = _link(emu, "$skiptoken", token)
    else:
        token = encode_token(emu, {"t": tid, "s": upto, "sel": select, "n": remembered if not preferred else size,
                                   "i": started})
        body["@odata.deltaLink"] = _link(emu, "$deltatoken", token)
    body["value"] = values
    headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if preferred else None
    return ok(req, body, headers=headers)

