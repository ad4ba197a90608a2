"""The HTTPS server: keep-alive, Nagle off, its own CA, faults applied before dispatch."""

from __future__ import annotations

import select
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import trustme

from emulator.app import Emulator
from emulator.routing import Headers, Request, Response, json_response


def load_or_create_ca(state_dir: Path) -> trustme.CA:
    """The emulator's CA, made once and kept in the state dir so clients can keep trusting it."""
    cert, key = state_dir / "ca.pem", state_dir / "ca-key.pem"
    if cert.exists() and key.exists():
        return trustme.CA.from_pem(cert.read_bytes(), key.read_bytes())
    ca = trustme.CA(organization_name="Microsoft emulator (local test CA)")
    state_dir.mkdir(parents=True, exist_ok=True)
    ca.cert_pem.write_to_path(str(cert))
    ca.private_key_pem.write_to_path(str(key))
    key.chmod(0o600)
    return ca


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each keep-alive request waits ~40 ms for delayed ACK
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _serve(self) -> None:
        emu = self.server.emulator
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(
            method=self.command,
            path=unquote(split.path),
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=Headers(self.headers.items()),
            body=body,
        )
        fault = emu.pick_fault(req.method, req.path)
        if fault is not None:
            if fault.kind == "reset":
                # RST instead of FIN: the client sees "connection reset by peer".
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            if fault.kind == "latency":
                # The request is late to arrive: a client that gave up meanwhile never reached us,
                # so nothing happens (no grant redeemed, no event created). slow_response is the
                # fault whose work is done although its answer is late.
                time.sleep(fault.latency_ms / 1000)
                if self._client_gone():
                    self.close_connection = True
                    return
            elif fault.kind == "slow_response":
                # The work is done (an event created...) but the answer is late: a client that
                # gives up or dies now has caused a side effect it never saw.
                resp = emu.handle(req)
                time.sleep(fault.latency_ms / 1000)
                self._write(resp)
                return
            elif fault.kind == "status":
                self._write(fault_response(emu, req, fault.status, fault.retry_after))
                return
        self._write(emu.handle(req))

    def _client_gone(self) -> bool:
        """While it waits for an answer, an HTTP/1.1 client sends nothing: if the socket is readable
        (a FIN or TLS close_notify), it has hung up."""
        readable, _, _ = select.select([self.connection], [], [], 0)
        return bool(readable)

    def _write(self, resp: Response) -> None:
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve


def fault_response(emu: Emulator, req: Request, status: int, retry_after: int | None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if req.path.lower().startswith("/v1.0"):
        from emulator.graph.errors import graph_error

        codes = {429: "TooManyRequests", 503: "serviceNotAvailable", 504: "gatewayTimeout"}
        code = codes.get(status, "generalException")
        msg = {
            429: "Too many requests; retry after the interval in Retry-After.",
            503: "The service is temporarily unavailable.",
            504: "The gateway timed out.",
        }.get(status, "Injected failure.")
        return graph_error(emu, req, status, code, msg, headers)
    if not req.path.lower().startswith("/_emulator"):
        from emulator.identity.errors import fault_error

        return fault_error(emu, req, status, retry_after)  # Entra's JSON error shape
    return json_response(
        {"error": "temporarily_unavailable", "error_description": f"Injected HTTP {status}."}, status, headers
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], emulator: Emulator, ssl_ctx: ssl.SSLContext, verbose: bool) -> None:
        self.emulator = emulator
        self.ssl_ctx = ssl_ctx
        self.verbose = verbose
        super().__init__(addr, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        # The handshake happens in the handler thread (do_handshake_on_connect on first read),
        # so a slow client cannot stall the accept loop.
        return self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.verbose:
            super().handle_error(request, client_address)


@dataclass
class RunningEmulator:
    """A started emulator: where it is, what to trust, and the seeded app's credentials."""

    emulator: Emulator
    base_url: str
    ca_file: str
    server: _Server
    thread: threading.Thread

    @property
    def info(self) -> dict[str, Any]:
        tenants = self.emulator.state["tenants"]
        app = self.emulator.state["apps"][0]
        return {
            "base_url": self.base_url,
            "ca_file": self.ca_file,
            "tenant_id": tenants[0]["id"],
            "second_tenant_id": tenants[1]["id"] if len(tenants) > 1 else None,
            "client_id": app["client_id"],
            "client_secret": app["secrets"][0]["value"],
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    seed: dict[str, Any] | None = None,
    state_dir: Path | str = "var/emulator",
    auto_approve: bool = False,
    verbose: bool = False,
) -> RunningEmulator:
    """Start the emulator on a background thread and return once it accepts connections."""
    from emulator.seed import default_seed

    state_dir = Path(state_dir)
    ca = load_or_create_ca(state_dir)
    emu = Emulator(seed if seed is not None else default_seed(), state_dir=state_dir, auto_approve=auto_approve)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ca.issue_cert("127.0.0.1", "localhost", "::1").configure_cert(ctx)
    server = _Server((host, port), emu, ctx, verbose)
    bound = server.server_address[1]
    shown_host = f"[{host}]" if ":" in host else host
    emu.base_url = f"https://{shown_host}:{bound}"
    thread = threading.Thread(target=server.serve_forever, name="emulator", daemon=True)
    thread.start()
    return RunningEmulator(emu, emu.base_url, str(state_dir / "ca.pem"), server, thread)
