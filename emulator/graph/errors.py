"""Graph's error shape: ``{"error": {"code", "message", "innerError": {...}}}`` plus headers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from emulator.routing import Request, Response, json_response

if TYPE_CHECKING:
    from emulator.app import Emulator


def request_ids(req: Request) -> dict[str, str]:
    """The ``request-id`` this answer carries, echoing the caller's ``client-request-id``; without
    one, Graph names the request-id as the client-request-id too (header and innerError alike)."""
    rid = req.headers.get("x-emulator-request-id") or str(uuid.uuid4())
    req.headers["x-emulator-request-id"] = rid
    return {"request-id": rid, "client-request-id": req.headers.get("client-request-id") or rid}


def graph_error(
    emu: Emulator,
    req: Request,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> Response:
    ids = request_ids(req)
    date = datetime.fromtimestamp(emu.now(), UTC).strftime("%Y-%m-%dT%H:%M:%S")
    inner = {"date": date, **ids}
    body = {"error": {"code": code, "message": message, "innerError": inner}}
    return json_response(body, status, {**ids, **(headers or {})})
