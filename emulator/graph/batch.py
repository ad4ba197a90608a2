"""JSON batching: ``POST /$batch`` runs up to 20 requests through the same router.

Each sub-request carries the outer ``Authorization`` (and the caller's client-request-id unless
it sets its own). Requests run in an order that honours ``dependsOn``; when a dependency failed,
its dependents answer 424 without running, as Graph does.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from emulator.graph.api import GraphError, body_json, graph_route, ok
from emulator.graph.auth import Caller
from emulator.graph.errors import request_ids
from emulator.routing import Headers, Request

if TYPE_CHECKING:
    from emulator.app import Emulator
    from emulator.routing import Response

MAX_REQUESTS = 20
METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _validate(requests: Any) -> list[dict[str, Any]]:
    if not isinstance(requests, list) or not requests:
        raise _bad("Invalid batch payload format.")
    if len(requests) > MAX_REQUESTS:
        raise _bad(f"Number of requests in the batch exceeds the limit of {MAX_REQUESTS}.")
    seen: set[str] = set()
    for r in requests:
        if not isinstance(r, dict) or not r.get("id") or not r.get("method") or not r.get("url"):
            raise _bad("Invalid batch payload format. Each request needs an id, a method and a url.")
        rid = str(r["id"])
        if rid in seen:
            raise _bad(f"Request id '{rid}' is duplicated. Batch request ids must be unique.")
        seen.add(rid)
        if str(r["method"]).upper() not in METHODS:
            raise _bad(f"Invalid method '{r['method']}' for request id : {rid}.")
        if r.get("body") is not None and not any(k.lower() == "content-type" for k in (r.get("headers") or {})):
            raise _bad(f"Write request id : {rid} does not contain Content-Type header or body.")
        depends = r.get("dependsOn") or []
        if not isinstance(depends, list):
            raise _bad(f"dependsOn of request id : {rid} must be a list of request ids.")
    for r in requests:
        for dep in r.get("dependsOn") or []:
            if str(dep) not in seen or str(dep) == str(r["id"]):
                raise _bad(f"Request id : {r['id']} depends on an unknown request id : {dep}.")
    return requests


def _order(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dependencies first, otherwise request order; a cycle is a malformed batch."""
    by_id = {str(r["id"]): r for r in requests}
    done: set[str] = set()
    visiting: set[str] = set()
    out: list[dict[str, Any]] = []

    def visit(rid: str) -> None:
        if rid in done:
            return
        if rid in visiting:
            raise _bad("The dependsOn graph of the batch contains a cycle.")
        visiting.add(rid)
        for dep in by_id[rid].get("dependsOn") or []:
            visit(str(dep))
        visiting.discard(rid)
        done.add(rid)
        out.append(by_id[rid])

    for r in requests:
        visit(str(r["id"]))
    return out


def _sub_request(outer: Request, r: dict[str, Any]) -> Request:
    url = str(r["url"])
    if url.lower().startswith(("http://", "https://")):
        url = urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "")
        url = url.split("/v1.0", 1)[-1]
    split = urlsplit(url if url.startswith("/") else "/" + url)
    headers = Headers(r.get("headers") or {})
    if outer.headers.get("authorization"):
        headers["authorization"] = outer.headers["authorization"]
    if "client-request-id" not in headers and outer.headers.get("client-request-id"):
        headers["client-request-id"] = outer.headers["client-request-id"]
    body = r.get("body")
    raw = b"" if body is None else (json.dumps(body).encode() if not isinstance(body, str) else body.encode())
    return Request(method=str(r["method"]).upper(), path="/v1.0" + unquote(split.path),
                   query=dict(parse_qsl(split.query, keep_blank_values=True)), headers=headers, body=raw)


def _answer(rid: str, resp: Response) -> dict[str, Any]:
    headers = {k: v for k, v in resp.headers.items() if k not in ("content-length",)}
    entry: dict[str, Any] = {"id": rid, "status": resp.status, "headers": headers}
    if resp.body:
        if "json" in str(headers.get("content-type", "")):
            entry["body"] = json.loads(resp.body)
        elif str(headers.get("content-type", "")).startswith("text/"):
            entry["body"] = resp.body.decode("utf-8", "replace")
        else:
            # Binary bodies (photos) travel base64-encoded inside the JSON envelope.
            entry["body"] = base64.b64encode(resp.body).decode()
    return entry


@graph_route("POST", "/$batch", locked=False)
def batch(emu: Emulator, req: Request, caller: Caller) -> Response:
    body = body_json(req)
    requests = _order(_validate(body.get("requests")))
    results: dict[str, dict[str, Any]] = {}
    for r in requests:
        rid = str(r["id"])
        failed = [str(d) for d in r.get("dependsOn") or [] if results[str(d)]["status"] >= 400]
        if failed:
            ids = request_ids(req)
            results[rid] = {"id": rid, "status": 424, "headers": {"content-type": "application/json"},
                            "body": {"error": {"code": "FailedDependency",
                                               "message": f"Request failed because it depends on request(s) "
                                                          f"{', '.join(failed)} that failed.",
                                               "innerError": ids}}}
            continue
        sub = _sub_request(req, r)
        if sub.path.lower().rstrip("/") == "/v1.0/$batch":
            resp_entry = {"id": rid, "status": 400, "headers": {"content-type": "application/json"},
                          "body": {"error": {"code": "BadRequest",
                                             "message": "Nested batch requests are not supported."}}}
            results[rid] = resp_entry
            continue
        # Graph throttles inner requests one by one: status faults apply to them too.
        fault = emu.pick_fault(sub.method, sub.path)
        if fault is not None and fault.kind == "status":
            from emulator.server import fault_response

            results[rid] = _answer(rid, fault_response(emu, sub, fault.status, fault.retry_after))
            continue
        results[rid] = _answer(rid, emu.handle(sub))
    # Answers in the order the caller listed the requests.
    ordered = [results[str(r["id"])] for r in body["requests"]]
    return ok(req, {"responses": ordered})
