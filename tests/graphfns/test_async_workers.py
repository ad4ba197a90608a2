"""Background execution with real Celery worker processes (Redis and PostgreSQL in CI)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from django.test import Client

from graphfns.models import ApiKey, FunctionCall
from membership.models import MicrosoftSettings
from project.celery import app as celery_app
from tests.support.members import seeded_user
from tests.support.workers import Workers


@pytest.fixture
def key(db: None) -> str:
    return ApiKey.issue("background job")[1]


def wait_for_task(client: Client, key: str, task_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/tasks/{task_id}", HTTP_AUTHORIZATION=f"Bearer {key}").json()
        if body["state"] in ("succeeded", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} did not finish: {body}")


def submit(client: Client, key: str, name: str, params: dict[str, Any], **extra: Any) -> str:
    response = client.post(f"/api/functions/{name}/execute?async=1", {"params": params, **extra},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 202, response.content
    return str(response.json()["task_id"])


def test_an_async_call_runs_on_a_worker_and_reports_its_result(client: Client, emulator: Any, microsoft: MicrosoftSettings,
                                                              key: str, celery_workers: Workers) -> None:
    task_id = submit(client, key, "users.get", {"user_id": "adele@contoso.test"})
    body = wait_for_task(client, key, task_id)
    assert body["state"] == "succeeded", body
    assert body["result"]["displayName"] == "Adele Vance"
    assert FunctionCall.objects.filter(function="users.get", status="ok").count() == 1


def test_a_throttled_call_is_retried_after_retry_after(client: Client, emulator: Any, http_emulator: Any,
                                                       microsoft: MicrosoftSettings, key: str,
                                                       celery_workers: Workers) -> None:
    # Five 429s: the client's own retries use up four, the task retries, then it succeeds.
    http_emulator.post(f"{emulator.base_url}/_emulator/faults",
                       json={"kind": "status", "status": 429, "retry_after": 1, "path": "/v1.0/users/*", "count": 5})
    task_id = submit(client, key, "users.get", {"user_id": "adele@contoso.test"})
    body = wait_for_task(client, key, task_id)
    assert body["state"] == "succeeded", body
    codes = list(FunctionCall.objects.order_by("created_at").values_list("error_code", flat=True))
    assert codes == ["Throttled", ""]


def test_bulk_work_reports_progress_and_finishes(client: Client, emulator: Any, http_emulator: Any,
                                                 microsoft: MicrosoftSettings, key: str, celery_workers: Workers) -> None:
    lee = seeded_user(emulator, "lee")
    events = [{"subject": f"Rota {i}", "start": {"dateTime": f"2030-03-{1 + i % 28:02d}T09:00:00", "timeZone": "UTC"},
               "end": {"dateTime": f"2030-03-{1 + i % 28:02d}T10:00:00", "timeZone": "UTC"}} for i in range(45)]
    # Slow $batch answers so the progress between batches can be seen.
    http_emulator.post(f"{emulator.base_url}/_emulator/faults", json={
        "kind": "latency", "latency_ms": 1500, "path": "/v1.0/$batch", "method": "POST", "count": 3})
    task_id = submit(client, key, "calendar.create_events", {"user_id": lee["id"], "events": events})
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        body = client.get(f"/api/tasks/{task_id}", HTTP_AUTHORIZATION=f"Bearer {key}").json()
        if "progress" in body:
            seen.append((body["progress"]["done"], body["progress"]["total"]))
        if body["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    assert body["state"] == "succeeded", body
    assert any(0 < done < 45 and total == 45 for done, total in seen), seen
    assert sum(1 for c in lee_calendars(emulator) for e in c["events"] if e["subject"].startswith("Rota ")) == 45


def pool_children(workers: Workers) -> list[int]:
    pids = []
    for proc in workers.procs:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True).stdout
        pids += [int(p) for p in out.split()]
    return pids


@pytest.mark.skipif(not os.environ.get("REDIS_URL"),
                    reason="redelivery after a lost worker is Redis's guarantee; kombu's filesystem transport "
                           "(the no-server demo mode) does not make it reliably")
def test_a_worker_killed_mid_task_redelivers_it_and_the_event_is_created_once(
    client: Client, emulator: Any, http_emulator: Any, microsoft: MicrosoftSettings, key: str, celery_workers: Workers
) -> None:
    lee = seeded_user(emulator, "lee")
    # Graph creates the event, then answers slowly: the worker dies before it hears back.
    http_emulator.post(f"{emulator.base_url}/_emulator/faults", json={
        "kind": "slow_response", "latency_ms": 5000, "path": "/v1.0/users/*/events", "method": "POST", "count": 1})
    event = {"subject": "Killed worker", "start": {"dateTime": "2030-02-01T09:00:00", "timeZone": "UTC"},
             "end": {"dateTime": "2030-02-01T09:30:00", "timeZone": "UTC"}}
    task_id = submit(client, key, "calendar.create_event", {"user_id": lee["id"], "event": event})

    def created() -> int:
        return sum(1 for c in lee_calendars(emulator) for e in c["events"] if e["subject"] == "Killed worker")

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and created() == 0:
        time.sleep(0.05)
    assert created() == 1
    for pid in pool_children(celery_workers):
        os.kill(pid, signal.SIGKILL)
    body = wait_for_task(client, key, task_id, timeout=120)
    assert body["state"] == "succeeded", body
    assert created() == 1  # the rerun reused the transactionId: Graph returned the same event
    assert body["result"]["subject"] == "Killed worker"


def lee_calendars(emulator: Any) -> list[dict[str, Any]]:
    with emulator.emulator.lock:
        return [c for c in seeded_user(emulator, "lee")["calendars"]]


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="SQLite has no server connection to lose")
def test_a_lost_database_connection_is_recovered_on_the_next_task(client: Client, emulator: Any,
                                                                 microsoft: MicrosoftSettings, key: str,
                                                                 celery_workers: Workers) -> None:
    from django.db import connection

    assert wait_for_task(client, key, submit(client, key, "users.get", {"user_id": "adele@contoso.test"}))[
        "state"] == "succeeded"
    with connection.cursor() as cursor:  # the database drops every other session, the workers' included
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    body = wait_for_task(client, key, submit(client, key, "users.get", {"user_id": "adele@contoso.test"}))
    assert body["state"] == "succeeded", body


def test_a_worker_logs_a_success_without_the_result_and_stores_it_encrypted(
    client: Client, emulator: Any, microsoft: MicrosoftSettings, key: str, celery_workers: Workers
) -> None:
    password = "Pq7!vLm2-" + os.urandom(4).hex()
    user = {"accountEnabled": True, "displayName": "Grace Hopper", "mailNickname": "grace",
            "userPrincipalName": "grace@contoso.test", "passwordProfile": {"password": password}}
    task_id = submit(client, key, "users.create", {"user": user})
    body = wait_for_task(client, key, task_id)
    assert body["state"] == "succeeded", body
    deadline = time.monotonic() + 10  # the worker logs its line just after storing the result
    while time.monotonic() < deadline and not any(f"[{task_id}] succeeded in" in log.read_text()
                                                  for log in celery_workers.logs):
        time.sleep(0.1)
    logs = "".join(log.read_text(errors="replace") for log in celery_workers.logs)
    line = next(line for line in logs.splitlines() if f"[{task_id}] succeeded in" in line)
    assert re.search(rf"Task graphfns\.run_function\[{task_id}\] succeeded in [0-9.]+s$", line), line
    for value in (password, "grace@contoso.test", "Grace Hopper", body["result"]["id"]):
        assert value not in logs
    backend = celery_app.backend
    name = backend.get_key_for_task(task_id)
    if os.environ.get("REDIS_URL"):
        stored = bytes(redis.Redis.from_url(os.environ["REDIS_URL"]).get(name))
    else:
        stored = (Path(backend.path.decode()) / name.decode()).read_bytes()
    assert b"grace@contoso.test" not in stored and b"Grace Hopper" not in stored
