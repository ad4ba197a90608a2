"""Graph functions in the background: ``submit()`` queues a call, ``status()`` reports on it.

The task runs the same ``execute()`` as every other surface. A catalog error is a result, not a
task failure: the task returns ``{"error": {...}}`` so its code and details survive the JSON
result backend. Who submitted a task is kept beside it (in the cache, for as long as Celery keeps
results) so only they can read it: the API key or user by primary key (``Caller.owner``), never a
name, since names repeat.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from celery import current_app, shared_task
from celery.backends.base import DisabledBackend
from celery.result import AsyncResult
from django.core.cache import cache
from kombu.exceptions import DecodeError, OperationalError
from redis.exceptions import RedisError

from graphfns import call_log
from graphfns.call_stats import purge_stats, sum_up
from graphfns.errors import FunctionError
from graphfns.execution import execute
from graphfns.retention import purge

OWNER_KEY = "graphfns:task:{}"
# What "the queue is down" looks like: kombu's wrapper, or Redis (broker, results, cache) itself.
QUEUE_DOWN = (OperationalError, RedisError, ConnectionError, TimeoutError)
TASK_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STATES = {"PENDING": "pending", "RECEIVED": "pending", "RETRY": "pending", "STARTED": "running",
          "PROGRESS": "running", "SUCCESS": "succeeded", "FAILURE": "failed", "REVOKED": "failed"}


# A scheduled purge stops starting batches after this long, inside any task time limit; a backlog is
# worked off over the following runs.
PURGE_BUDGET_SECONDS = 240.0

RETRYABLE = {"Throttled": 5, "UpstreamUnavailable": 3, "Timeout": 3}  # code → retries in the background


@shared_task(bind=True, track_started=True, acks_late=True, name="graphfns.run_function")
def run_function(self: Any, name: str, params: dict[str, Any], auth_user_id: int | None, caller: str,
                 idempotency_key: str | None = None) -> dict[str, Any]:
    # acks_late: a worker killed mid-call leaves the task queued and it runs again. The task id
    # stands in for a missing idempotency key, so a rerun of create_event reuses its transactionId
    # and Graph returns the event the first run created instead of a second one.
    def progress(done: int, total: int) -> None:
        self.update_state(state="PROGRESS", meta={"done": done, "total": total})

    try:
        return {"result": execute(name, params, auth_user_id, caller=caller,
                                  idempotency_key=idempotency_key or self.request.id, progress=progress)}
    except FunctionError as exc:
        limit = RETRYABLE.get(exc.code, 0)
        if self.request.retries < limit:
            after = str(exc.details.get("retry_after", ""))
            countdown = int(after) if after.isdigit() else min(60, 2 ** (self.request.retries + 1))
            raise self.retry(countdown=countdown, max_retries=limit) from None
        return {"error": exc.as_dict()}
    finally:
        call_log.flush()  # the entry is stored when the task's result is


@shared_task(name="graphfns.maintain_call_log")
def maintain_call_log() -> dict[str, Any]:
    """Scheduled by Celery beat (hourly): sum up the days that need it (today so far among them), delete
    call log entries past retention in batches, and daily statistics past theirs."""
    summed = sum_up()
    done = purge(budget=PURGE_BUDGET_SECONDS)
    return {"summed_up": [str(day) for day in summed], "stats_deleted": purge_stats(), "deleted": done.deleted,
            "batches": done.batches, "longest_batch_ms": round(done.longest_batch * 1000), "finished": done.finished}


def submit(name: str, params: dict[str, Any], auth_user_id: int | None, caller: str,
           idempotency_key: str | None = None, *, owner: str) -> str:
    """Queue a call; its task id. ``caller`` names the caller in the call log; only ``owner`` may read
    the task. ``QueueUnavailable`` when the broker (or Redis) cannot be reached."""
    task_id = str(uuid.uuid4())
    try:
        # The owner first, so the task can be looked up as soon as a worker has it.
        cache.set(OWNER_KEY.format(task_id), {"owner": owner, "function": name}, _result_lifetime())
        run_function.apply_async(
            args=(name, params, auth_user_id, caller, idempotency_key), task_id=task_id,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        )
    except QUEUE_DOWN:
        raise FunctionError("QueueUnavailable") from None
    return task_id


def owner(task_id: str) -> str | None:
    """The owner (``Caller.owner``) that submitted ``task_id``; None when unknown or expired."""
    if not TASK_ID.fullmatch(task_id):
        return None  # Celery task ids are UUIDs; anything else was never ours
    try:
        entry = cache.get(OWNER_KEY.format(task_id))
    except QUEUE_DOWN:
        raise FunctionError("QueueUnavailable") from None
    # Entries written before owners were keyed by primary key carry "caller" (a name): nobody owns them.
    return entry.get("owner") if entry else None


def status(task_id: str) -> dict[str, Any]:
    """``{"task_id", "function", "state": pending|running|succeeded|failed, "result" | "error" | "progress"}``."""
    try:
        entry = cache.get(OWNER_KEY.format(task_id))
        if entry is None:
            raise FunctionError("TaskNotFound")
        if isinstance(current_app.backend, DisabledBackend):
            raise FunctionError("TaskResultsUnavailable")
        result = AsyncResult(task_id, app=current_app)  # the site's own Celery app
        state = result.state
        info = result.info
    except QUEUE_DOWN:
        raise FunctionError("QueueUnavailable") from None
    except DecodeError:
        # The filesystem result backend (no Redis) writes results in place: a read that races the
        # worker's write sees half a file. The task is still being recorded; ask again shortly.
        state, info = "STARTED", None
    body: dict[str, Any] = {"task_id": task_id, "function": entry["function"], "state": STATES.get(state, "pending")}
    if state == "PROGRESS" and isinstance(info, dict):
        body["progress"] = {"done": info.get("done", 0), "total": info.get("total", 0)}
    elif state == "SUCCESS" and isinstance(info, dict):
        if "error" in info:
            body["state"] = "failed"
            body["error"] = info["error"]
        else:
            body["result"] = info.get("result")
    elif body["state"] == "failed":
        # An unexpected exception in the worker: its text may hold anything, so it stays in the worker log.
        body["error"] = {"code": "InternalError",
                         "message": "The task failed unexpectedly. The worker's log and the call log have the details."}
    return body


def _result_lifetime() -> int:
    expires = current_app.conf.result_expires
    seconds = expires.total_seconds() if hasattr(expires, "total_seconds") else expires
    return int(seconds or 86400)
