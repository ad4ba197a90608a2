"""How Graph endpoints are declared: the route decorator, the error exception, success responses.

Every handler is registered with ``@graph_route(method, "/users/{id}")``; the decorator adds the
``/v1.0`` prefix, authenticates the bearer token (outside the state lock: RSA verification is the
slowest step of a request) and then runs the handler under ``emu.lock`` so it can read and mutate
state without races. Handlers raise ``GraphError`` for documented failures; every answer, success
or error, carries ``request-id`` and echoes ``client-request-id`` like the real service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator.graph.errors import graph_error, request_ids
from emulator.routing import Headers, Request, Response, json_response, route

if TYPE_CHECKING:
    from emulator.app import Emulator
    from emulator.graph.auth import Caller

GRAPH_ROOT = "https://graph.microsoft.com/v1.0"
METADATA = f"{GRAPH_ROOT}/$metadata"


class GraphError(Exception):
    """A documented Graph failure; the route wrapper turns it into Graph's error shape."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


GraphHandler = Callable[["Emulator", Request, "Caller"], Response]


def graph_route(method: str, *patterns: str, locked: bool = True) -> Callable[[GraphHandler], GraphHandler]:
    """Register a Graph handler under ``/v1.0`` for each pattern.

    ``locked=False`` is for handlers that dispatch other requests themselves ($batch), which
    must not hold the state lock while the sub-requests authenticate.
    """

    def register(handler: GraphHandler) -> GraphHandler:
        def wrapper(emu: Emulator, req: Request) -> Response:
            from emulator.graph.auth import authenticate

            try:
                caller = authenticate(emu, req)
                if locked:
                    with emu.lock:
                        return handler(emu, req, caller)
                return handler(emu, req, caller)
            except GraphError as exc:
                return graph_error(emu, req, exc.status, exc.code, exc.message, exc.headers)

        wrapper.__name__ = handler.__name__
        for pattern in patterns:
            route(method, "/v1.0" + pattern)(wrapper)
        return handler

    return register


def ok(req: Request, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON success answer with Graph's correlation headers."""
    resp = json_response(data, status, {**request_ids(req), **(headers or {})})
    resp.headers.setdefault("odata-version", "4.0")
    return resp


def no_content(req: Request, status: int = 204) -> Response:
    """204 (or 202 for actions): an empty body, still correlated."""
    return Response(status, b"", Headers(request_ids(req)))


def raw(req: Request, body: bytes, content_type: str) -> Response:
    return Response(200, body, Headers({**request_ids(req), "content-type": content_type}))


def body_json(req: Request) -> dict[str, Any]:
    """The request body as a JSON object, or Graph's 400 for anything else."""
    unreadable = ("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is "
                  "of valid JSON format.")
    try:
        data = req.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise GraphError(400, "BadRequest", unreadable) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise GraphError(400, "BadRequest", unreadable)
    return data

