"""The emulator object: state, clock, signing key, faults, counters and request dispatch.

Everything mutable lives on one ``Emulator`` and is guarded by ``emu.lock``; handlers take the
lock for the read-modify-write they need. Route modules register handlers on import.
"""

from __future__ import annotations

import copy
import fnmatch
import random
import threading
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.directory import GROUPS_CLAIM_LIMIT, prepare
from emulator.routing import NoRoute, Request, Response, json_response, router
from emulator.tokens import Signer


@dataclass
class Fault:
    """One injected fault. ``kind``: status | latency | reset | slow_response (answer late, after
    the handler ran).

    Fires for requests whose path matches ``path`` (a glob, e.g. ``/v1.0/users*``) and method
    (``*`` for any), either ``count`` times (then it is spent) or with probability ``rate``.
    """

    kind: str
    path: str = "*"
    method: str = "*"
    status: int = 503
    retry_after: int | None = None
    latency_ms: int = 0
    rate: float | None = None
    count: int | None = 1
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method.upper() == method) and fnmatch.fnmatchcase(
            path.lower(), self.path.lower()
        )


class Emulator:
    def __init__(
        self,
        seed: dict[str, Any],
        *,
        state_dir: Path | None = None,
        auto_approve: bool = False,
    ) -> None:
        # Importing the route modules registers their handlers on the shared router.
        import emulator.control
        import emulator.graph
        import emulator.identity  # noqa: F401

        self.lock = threading.RLock()
        self.base_url = ""  # set by the server once it knows its port
        self.state_dir = state_dir
        self.signer = Signer.load_or_create(state_dir / "signing-key.pem") if state_dir else Signer.generate()
        self.initial_seed = seed
        self.default_auto_approve = auto_approve
        self.reset(seed)

    # -- state -------------------------------------------------------------------------------

    def reset(self, seed: dict[str, Any] | None = None) -> None:
        """Back to the seed: tenants, users, calendars, apps; drop codes, tokens, faults, counters."""
        with self.lock:
            if seed is not None:
                self.initial_seed = seed
            self.state: dict[str, Any] = copy.deepcopy(self.initial_seed)
            for tenant in self.state["tenants"]:
                prepare(tenant)
            self.runtime: dict[str, Any] = {}  # codes, refresh tokens, grants: owned by modules
            self.faults: list[Fault] = []
            self.requests: Counter[str] = Counter()
            self.grants: Counter[str] = Counter()
            self.clock_offset = 0.0
            self.auto_approve = self.default_auto_approve
            self.strict_rotation = False
            self.groups_claim_limit = GROUPS_CLAIM_LIMIT
            # Misbehaviour for relying-party tests: id_token claims to override, and
            # "rogue_key": sign id_tokens with a key the JWKS does not publish (same kid).
            self.id_token_tamper: dict[str, Any] = {}

    def now(self) -> float:
        return time.time() + self.clock_offset

    def tenant(self, key: str) -> dict[str, Any] | None:
        """A tenant by id or by one of its domains (case-insensitive)."""
        key = key.lower()
        for t in self.state["tenants"]:
            if t["id"] == key or key in (d.lower() for d in t["domains"]):
                return t
        return None

    def app(self, client_id: str) -> dict[str, Any] | None:
        for a in self.state["apps"]:
            if a["client_id"] == client_id:
                return a
        return None

    def user(self, tenant: dict[str, Any], key: str) -> dict[str, Any] | None:
        """A user of ``tenant`` by object id or userPrincipalName (case-insensitive)."""
        key = key.lower()
        for u in tenant["users"]:
            if u["id"] == key or u["userPrincipalName"].lower() == key:
                return u
        return None

    # -- tokens ------------------------------------------------------------------------------

    GRAPH_AUDIENCE = "https://graph.microsoft.com"
    GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

    def issue_access_token(
        self,
        tenant_id: str,
        client_id: str,
        *,
        user: dict[str, Any] | None = None,
        scopes: list[str] | tuple[str, ...] = (),
        roles: list[str] | tuple[str, ...] = (),
        lifetime: int = 3599,
        capabilities: list[str] | tuple[str, ...] = (),
        not_before: int | None = None,
    ) -> tuple[str, int]:
        """A Graph access token (v1.0 shape, as Graph receives them) and its expires_in.

        Delegated (``user`` given): ``scp`` holds the space-separated scopes without the resource
        prefix. Application: ``roles`` holds the app roles, ``oid`` and ``sub`` are the app's service
        principal. v1.0 tokens name the client in ``appid`` (``azp`` is the v2.0 claim).
        ``capabilities``: the client's ``xms_cc`` (``cp1``: it handles claims challenges, so Graph
        may apply Continuous Access Evaluation). ``not_before``: a claims challenge's ``nbf``.
        """
        now = int(self.now())
        claims: dict[str, Any] = {
            "aud": self.GRAPH_AUDIENCE,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": now,
            "nbf": max(now, not_before or 0),
            "exp": now + lifetime,
            "appid": client_id,
            "appidacr": "1",
            "tid": tenant_id,
            "ver": "1.0",
            "uti": uuid.uuid4().hex[:22],
        }
        if capabilities:
            claims["xms_cc"] = list(capabilities)
        if user is not None:
            claims.update({
                "idtyp": "user",
                "oid": user["id"],
                "sub": user["id"],
                "upn": user["userPrincipalName"],
                "unique_name": user["userPrincipalName"],
                "name": user["displayName"],
                "scp": " ".join(scopes),
            })
        else:
            claims.update({
                "idtyp": "app",
                "oid": self.service_principal_id(tenant_id, client_id),
                "sub": self.service_principal_id(tenant_id, client_id),
                "roles": list(roles),
            })
        return self.signer.sign(claims), lifetime

    @staticmethod
    def service_principal_id(tenant_id: str, client_id: str) -> str:
        """The object id of the app's service principal in a tenant (stable per tenant and app)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp/{tenant_id}/{client_id}"))

    # -- faults ------------------------------------------------------------------------------

    def pick_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if not fault.matches(method, path):
                    continue
                if fault.rate is not None:
                    if random.random() >= fault.rate:  # noqa: S311 - test traffic, not crypto
                        continue
                elif fault.count is not None:
                    if fault.count <= 0:
                        continue
                    fault.count -= 1
                fault.fired += 1
                return fault
        return None

    # -- dispatch ----------------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        is_graph = req.path.lower().startswith("/v1.0/") or req.path.lower() == "/v1.0"
        try:
            handler, params, pattern = router.resolve(req.method, req.path)
        except NoRoute as exc:
            from emulator.graph.errors import graph_error

            with self.lock:
                self.requests[f"{req.method} (unmatched)"] += 1
            if is_graph:
                if exc.allowed:
                    resp = graph_error(self, req, 405, "Request_BadRequest",
                                       f"The HTTP method '{req.method}' is not allowed for this resource.")
                else:
                    resp = graph_error(self, req, 400, "BadRequest",
                                       f"Resource not found for the segment '{req.path.rsplit('/', 1)[-1]}'.")
                return resp
            return json_response({"error": "not_found", "error_description": f"No such endpoint: {req.path}"}, 404)
        req.params = params
        req.route = pattern
        with self.lock:
            self.requests[f"{req.method} {pattern}"] += 1
        try:
            return handler(self, req)
        except Exception:  # a bug in the emulator must still answer, and say where
            traceback.print_exc()
            if is_graph:
                from emulator.graph.errors import graph_error

                return graph_error(self, req, 500, "generalException", "The emulator failed on this request.")
            return json_response(
                {"error": "server_error", "error_description": "The emulator failed on this request."}, 500
            )
