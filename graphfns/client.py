"""The Graph client: one pooled HTTPS session per thread, bounded retries, paging and $batch.

Every outbound Graph call goes through ``GraphClient.request``: it sends a ``client-request-id``,
keeps Graph's ``request-id``, retries 429 / 503 / 504 honouring Retry-After, retries a dropped
connection or a timeout when the request is idempotent, all within one deadline that counts the
time spent waiting for answers as well as between attempts, and turns every failure into a
catalog ``FunctionError``.
"""

from __future__ import annotations

import base64
import binascii
import json as json_text
import logging
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from graphfns.conf import conf
from graphfns.errors import FunctionError, error_for
from graphfns.metrics import GRAPH_RETRIES
from membership.failures import Reason, failed_host, transport_reason
from membership.lib.endpoints import EndpointNotAllowed, check_graph
from membership.lib.http import microsoft_session, time_left

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 503, 504}
IDEMPOTENT_METHODS = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
BATCH_LIMIT = 20


@dataclass
class GraphResponse:
    status: int
    body: Any
    headers: Mapping[str, str]  # case-insensitive
    request_id: str = ""


@dataclass
class CallStats:
    """What one function call did upstream (for the call log)."""

    requests: int = 0
    retries: int = 0
    request_ids: list[str] = field(default_factory=list)
    client_request_ids: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # each attempt's time, answered or not

    @property
    def last_request_id(self) -> str:
        return self.request_ids[-1] if self.request_ids else ""

    @property
    def last_client_request_id(self) -> str:
        return self.client_request_ids[-1] if self.client_request_ids else ""


def _retry_after(response: requests.Response | None, attempt: int) -> float:
    if response is not None:
        value = response.headers.get("Retry-After", "")
        if value.isdigit():
            return float(value)
    return min(8.0, 0.25 * 2**attempt) * (0.5 + random.random() / 2)  # noqa: S311 - jitter


MIN_ATTEMPT = 1.0  # seconds: no retry is started with less time than this left before the deadline


class GraphClient:
    """``deadline``: seconds one request may take in all, answers awaited and retries included
    (default MICROSOFT_GRAPH_DEADLINE); ``timeout``: (connect, read) per attempt, capped by the
    session's policy (membership.lib.http)."""

    def __init__(self, graph_url: str, token: str, *, max_attempts: int = 4, deadline: float | None = None,
                 timeout: tuple[float, float] | None = None,
                 on_claims_challenge: Callable[[str], str] | None = None) -> None:
        try:
            check_graph(graph_url)  # members' tokens go there: Microsoft's clouds only
        except EndpointNotAllowed:
            raise FunctionError("EndpointNotAllowed") from None
        self.base = graph_url.rstrip("/") + "/v1.0"
        self.token = token
        self.max_attempts = max_attempts
        self.deadline = conf.MICROSOFT_GRAPH_DEADLINE if deadline is None else float(deadline)
        self.timeout = timeout
        # Given Graph's claims challenge (JSON): a new token that carries them, or it raises a FunctionError.
        self.on_claims_challenge = on_claims_challenge
        self.stats = CallStats()

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else self.base + path

    def _left(self, started: float) -> float:
        own = self.deadline - (time.monotonic() - started)
        outer = time_left()  # a membership.lib.http.deadline block around the whole call
        return own if outer is None else min(own, outer)

    def _attempt_timeout(self, left: float) -> tuple[float, float]:
        # Only this request's deadline: the session itself applies the timeout policy.
        connect, read = self.timeout or (left, left)
        return (max(0.1, min(connect, left)), max(0.1, min(read, left)))

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
                headers: dict[str, str] | None = None, idempotent: bool | None = None,
                raw: bool = False) -> GraphResponse:
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        if json is not None:
            _check_json_body(json)
        session = microsoft_session()
        started = time.monotonic()
        attempt = challenges = 0
        while True:
            attempt += 1
            client_request_id = str(uuid.uuid4())
            sent = {"Authorization": f"Bearer {self.token}", "client-request-id": client_request_id}
            if headers:
                sent.update(headers)
            self.stats.requests += 1
            self.stats.client_request_ids.append(client_request_id)
            response: requests.Response | None = None
            left = self._left(started)
            sent_at = time.perf_counter()
            reason = ""
            try:
                # params=None, not {}: requests' parameter merging is costly per call.
                response = session.request(method, self.url(path), params=params or None, json=json, headers=sent,
                                           timeout=self._attempt_timeout(left))
            except requests.Timeout:
                reason = "timeout"
                failure = FunctionError("Timeout", client_request_id=client_request_id)
            except requests.ConnectionError as exc:
                cause = transport_reason(exc)
                if cause in (Reason.TLS, Reason.DNS):  # configuration, not an outage: say so at once
                    raise error_for(cause, host=failed_host(exc), client_request_id=client_request_id) from None
                reason = "connection"
                failure = FunctionError("UpstreamUnavailable", "The connection to Microsoft Graph failed. Retry in a "
                                        "little while.", client_request_id=client_request_id)
            else:
                rid = response.headers.get("request-id", "")
                if rid:
                    self.stats.request_ids.append(rid)
                if response.status_code < 400:
                    return GraphResponse(response.status_code, _body(response, raw), response.headers, rid)
                failure = graph_failure(response.status_code, _body(response, False), rid, response.headers)
                claims = claims_challenge(response) if response.status_code == 401 else None
                if claims is not None and self.on_claims_challenge is not None and challenges < 2:
                    # Continuous Access Evaluation: a new token carrying the claims, then this request again.
                    # The callback raises when it cannot get one (or already tried).
                    challenges += 1
                    self.token = self.on_claims_challenge(claims)
                    continue
                if response.status_code not in RETRY_STATUSES:
                    raise failure
                reason = str(response.status_code)
            finally:
                self.stats.seconds.append(time.perf_counter() - sent_at)
            retryable = response is not None or idempotent
            delay = _retry_after(response, attempt)
            left = self._left(started)
            if not retryable or attempt >= self.max_attempts or delay + MIN_ATTEMPT > left:
                raise failure
            self.stats.retries += 1
            GRAPH_RETRIES.labels(reason).inc()
            time.sleep(delay)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).body

    def pages(self, path: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
              limit: int | None = None) -> Iterator[Any]:
        """Every item of a collection, following @odata.nextLink (up to ``limit`` items)."""
        url: str | None = path
        count = 0
        while url:
            body = self.request("GET", url, params=params, headers=headers).body
            params = None  # nextLink carries them
            for item in body.get("value", []):
                yield item
                count += 1
                if limit is not None and count >= limit:
                    return
            url = body.get("@odata.nextLink")

    def batch(self, requests_: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send requests through $batch, 20 at a time; answers come back in the order given.

        Each request: ``{"id", "method", "url" (relative to /v1.0), "body"?, "headers"?, "dependsOn"?}``.
        Items answered 429/503/504 are sent again in the next round, within the retry budget.
        """
        pending = list(requests_)
        answers: dict[str, dict[str, Any]] = {}
        started, rounds = time.monotonic(), 0
        while pending:
            rounds += 1
            retry: list[dict[str, Any]] = []
            delay = 0.0
            for start in range(0, len(pending), BATCH_LIMIT):
                chunk = pending[start:start + BATCH_LIMIT]
                ids = {r["id"] for r in chunk}
                payload = [{**r, "dependsOn": [d for d in r.get("dependsOn", []) if d in ids]} for r in chunk]
                for r in payload:
                    if not r["dependsOn"]:
                        del r["dependsOn"]
                    if "body" in r:
                        r.setdefault("headers", {}).setdefault("Content-Type", "application/json")
                body = self.request("POST", "/$batch", json={"requests": payload}, idempotent=False).body
                for answer in body.get("responses", []):
                    if answer.get("status") in RETRY_STATUSES and rounds < self.max_attempts:
                        retry.append(next(r for r in chunk if r["id"] == answer["id"]))
                        after = str((answer.get("headers") or {}).get("Retry-After", ""))
                        delay = max(delay, float(after) if after.isdigit() else 1.0)
                    else:
                        answers[str(answer["id"])] = answer
            if retry and delay + MIN_ATTEMPT <= self._left(started):
                self.stats.retries += len(retry)
                GRAPH_RETRIES.labels("batch-item").inc(len(retry))
                time.sleep(delay)
                pending = retry
            else:
                for r in retry:
                    answers[r["id"]] = {"id": r["id"], "status": 429, "body": {"error": {"code": "TooManyRequests"}}}
                pending = []
        return [answers[str(r["id"])] for r in requests_]


_CHALLENGE_CLAIMS = re.compile(r'claims="([A-Za-z0-9+/=_-]{1,8000})"')


def claims_challenge(response: requests.Response) -> str | None:
    """The claims (JSON text) of Graph's ``insufficient_claims`` challenge, or None.

    Graph sends them base64-encoded in ``WWW-Authenticate``; anything that does not decode to a
    JSON object is no challenge we can answer.
    """
    header = response.headers.get("WWW-Authenticate", "")
    if 'error="insufficient_claims"' not in header:
        return None
    match = _CHALLENGE_CLAIMS.search(header)
    if match is None:
        return None
    encoded = match.group(1).replace("-", "+").replace("_", "/")
    try:
        text = base64.b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        claims = json_text.loads(text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text if isinstance(claims, dict) else None


def _check_json_body(body: Any) -> None:
    """A body requests would refuse to send (NaN, Infinity) or could not serialise (too deep) is the caller's
    mistake, refused before any attempt: a ValidationError, not an InternalError."""
    try:
        json_text.dumps(body, allow_nan=False)
    except (ValueError, RecursionError):
        raise FunctionError("ValidationError", "body: it holds NaN or Infinity, or is nested too deeply, and cannot "
                            "be sent as JSON.", field="body") from None


def _body(response: requests.Response, raw: bool) -> Any:
    if raw:
        return response.content
    if not response.content:
        return None
    if "json" in response.headers.get("Content-Type", ""):
        try:
            return response.json()
        except ValueError:
            return None
    return response.content


def graph_failure(status: int, body: Any, request_id: str = "", headers: Any = None) -> FunctionError:
    """A Graph error answer as a catalog error, keeping Graph's code and request-id."""
    error = body.get("error", {}) if isinstance(body, dict) else {}
    graph_code = str(error.get("code", "")) if isinstance(error, dict) else ""
    graph_message = str(error.get("message", ""))[:500] if isinstance(error, dict) else ""
    details: dict[str, Any] = {"graph_code": graph_code, "graph_message": graph_message, "request_id": request_id}
    if status == 429:
        retry_after = (headers or {}).get("Retry-After", "")
        return FunctionError("Throttled", retry_after=retry_after, **details)
    if status in (503, 504) or status >= 500:
        return FunctionError("Timeout" if status == 504 else "UpstreamUnavailable", **details)
    if graph_code == "Authorization_RequestDenied" or (status == 403 and graph_code in ("", "Forbidden")):
        return FunctionError("Authorization_RequestDenied", **details)
    if graph_code == "Authorization_IdentityNotFound":
        return FunctionError("Authorization_IdentityNotFound", **details)
    if status == 404:
        return FunctionError("NotFound", **details)
    # Other refusals keep Graph's 4xx status (the request was wrong, not our server); 502 otherwise.
    return FunctionError("GraphError", f"Microsoft Graph refused the request ({graph_code or status}): "
                         f"{graph_message or 'no message'}", status=status if 400 <= status < 500 else None,
                         graph_status=status, **details)
