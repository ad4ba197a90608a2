"""Health endpoints for load balancers and orchestrators.

* ``GET /healthz`` — liveness: the process answers. No database, cache or network: a slow
  dependency must not get a healthy process restarted.
* ``GET /readyz`` — readiness: the database, the cache and the Celery broker each answer, with
  each check's latency; 503 when one of them fails. Microsoft's reachability (the authority of
  the configured settings) is reported but never fails readiness: an outage at Microsoft is not
  cured by taking this site out of rotation. It is probed with a short timeout and remembered for
  MICROSOFT_PROBE_MEMO seconds, so probes do not turn into a stream of requests to Microsoft.

Failures name the exception's type only: its text may hold a connection URL with a password.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

CHECK_TIMEOUT = 3.0  # seconds any one check may take before it counts as failed
MICROSOFT_TIMEOUT = 2.0
MICROSOFT_PROBE_MEMO = 30.0

# Cache, broker and Microsoft are asked from these threads, so a server that accepts the connection
# and then says nothing cannot hold the probe beyond CHECK_TIMEOUT.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")
_microsoft_memo: dict[str, Any] = {"at": -MICROSOFT_PROBE_MEMO, "key": None, "result": None}
_microsoft_lock = threading.Lock()


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _timed(check: Callable[[], Any]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as exc:
        result: dict[str, Any] = {"ok": False, "error": type(exc).__name__}
    else:
        result = {"ok": True, **(detail or {})}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise LookupError("the cache did not return what was stored")
    cache.delete(key)


def check_broker() -> None:
    from project.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=CHECK_TIMEOUT)


def microsoft_target() -> str | None:
    """The URL whose answer shows Microsoft's identity platform is reachable; None when sign-in is off."""
    from membership.identity import authority_url
    from membership.lib.endpoints import EndpointNotAllowed, check_authority
    from membership.models import MicrosoftSettings

    ms = MicrosoftSettings.current()
    if not ms.enabled:
        return None
    try:
        check_authority(ms.authority_host)
    except EndpointNotAllowed:
        return None  # the site refuses to call it anyway; `manage.py graph check` says why
    return authority_url(ms) + "/v2.0/.well-known/openid-configuration"


def check_microsoft(url: str) -> dict[str, Any]:
    from membership.lib.http import deadline, microsoft_session

    with deadline(MICROSOFT_TIMEOUT):
        status = microsoft_session().get(url, allow_redirects=False).status_code
    return {"status": status}  # any answer, even an error page, means it is reachable


def _microsoft(url: str) -> dict[str, Any]:
    with _microsoft_lock:
        memo = dict(_microsoft_memo)
    if memo["key"] == url and time.monotonic() - memo["at"] < MICROSOFT_PROBE_MEMO:
        return {**memo["result"], "cached": True}
    result = _in_thread(lambda: _timed(lambda: check_microsoft(url)), MICROSOFT_TIMEOUT + 1)
    with _microsoft_lock:
        _microsoft_memo.update(at=time.monotonic(), key=url, result=result)
    return result


def _in_thread(run: Callable[[], dict[str, Any]], timeout: float) -> dict[str, Any]:
    future = _pool.submit(run)
    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        return {"ok": False, "error": "Timeout", "latency_ms": round(timeout * 1000, 2)}


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    pending = {name: _pool.submit(_timed, check) for name, check in (("cache", check_cache),
                                                                       ("broker", check_broker))}
    checks: dict[str, dict[str, Any]] = {"database": _timed(check_database)}
    for name, future in pending.items():
        try:
            checks[name] = future.result(timeout=CHECK_TIMEOUT)
        except FutureTimeout:
            checks[name] = {"ok": False, "error": "Timeout", "latency_ms": CHECK_TIMEOUT * 1000}
    ready = all(c["ok"] for c in checks.values())
    url = microsoft_target() if checks["database"]["ok"] else None
    microsoft = _microsoft(url) if url else {"ok": None, "skipped": "Microsoft sign-in is not enabled"}
    checks["microsoft"] = {**microsoft, "fatal": False}
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
