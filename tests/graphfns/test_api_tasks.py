"""?async=1 and GET /api/tasks/<id>: the HTTP side of background calls.

Celery runs eagerly here (in the test's thread, results stored in the real result backend) only
to check the HTTP shapes; a real worker is exercised elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from graphfns.models import ApiKey, FunctionCall
from membership.models import MicrosoftSettings
from project.celery import app as celery_app
from tests.graphfns.conftest import Connect
from tests.graphfns.test_api import post


@pytest.fixture
def eager() -> Iterator[None]:
    from graphfns.tasks import run_function

    conf = celery_app.conf
    # A task reads store_eager_result from the config once, when first bound: set both.
    saved = conf.task_always_eager, conf.task_store_eager_result, run_function.store_eager_result
    conf.task_always_eager = conf.task_store_eager_result = run_function.store_eager_result = True
    yield
    conf.task_always_eager, conf.task_store_eager_result, run_function.store_eager_result = saved


@pytest.fixture
def key(db: None) -> str:
    return ApiKey.issue("sync job")[1]


def auth(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_an_async_call_answers_202_and_its_task_reports_the_result(client: Client, microsoft: MicrosoftSettings,
                                                                   key: str, eager: None) -> None:
    response = post(client, "/api/functions/users.get/execute?async=1",
                    {"params": {"user_id": "adele@contoso.test", "select": ["displayName"]}}, key)
    assert response.status_code == 202, response.content
    task_id = response.json()["task_id"]
    task = client.get(f"/api/tasks/{task_id}", **auth(key))
    assert task.status_code == 200
    body = task.json()
    assert (body["task_id"], body["function"], body["state"]) == (task_id, "users.get", "succeeded")
    assert body["result"]["displayName"] == "Adele Vance"
    assert FunctionCall.objects.get().caller == "api-key:sync job"


def test_a_failed_async_call_reports_the_catalog_error(client: Client, microsoft: MicrosoftSettings, key: str,
                                                       eager: None) -> None:
    response = post(client, "/api/functions/users.get/execute?async=1",
                    {"params": {"user_id": "nobody@contoso.test"}}, key)
    task = client.get(f"/api/tasks/{response.json()['task_id']}", **auth(key)).json()
    assert task["state"] == "failed"
    assert task["error"]["code"] == "NotFound"


def test_a_member_queues_a_call_as_themselves(client: Client, connect: Connect, eager: None) -> None:
    lee = connect("lee")
    client.force_login(lee)
    response = post(client, "/api/functions/users.get/execute?async=true", {"params": {"user_id": "me"}})
    assert response.status_code == 202
    task = client.get(f"/api/tasks/{response.json()['task_id']}").json()
    assert task["result"]["userPrincipalName"] == "lee@contoso.test"
    assert FunctionCall.objects.get().acting_user == lee


def test_async_calls_are_authorized_before_they_are_queued(client: Client, connect: Connect, eager: None) -> None:
    lee, adele = connect("lee"), connect("adele")
    client.force_login(lee)
    response = post(client, "/api/functions/users.get/execute?async=1",
                    {"params": {"user_id": "me"}, "auth_user_id": adele.pk})
    assert response.status_code == 403


def test_a_queued_call_is_pending_until_a_worker_runs_it(client: Client, microsoft: MicrosoftSettings,
                                                         key: str) -> None:
    # The real filesystem broker, no worker: the task waits in the queue.
    response = post(client, "/api/functions/users.get/execute?async=1", {"params": {"user_id": "me"}}, key)
    assert response.status_code == 202
    task = client.get(f"/api/tasks/{response.json()['task_id']}", **auth(key)).json()
    assert task["state"] == "pending"
    assert "result" not in task


def test_someone_elses_task_is_not_found(client: Client, microsoft: MicrosoftSettings, key: str,
                                         eager: None) -> None:
    task_id = post(client, "/api/functions/users.get/execute?async=1",
                   {"params": {"user_id": "adele@contoso.test"}}, key).json()["task_id"]
    _, other = ApiKey.issue("another job")
    response = client.get(f"/api/tasks/{task_id}", **auth(other))
    assert (response.status_code, response.json()["error"]["code"]) == (404, "TaskNotFound")


def test_a_second_key_with_the_same_name_cannot_read_the_task(client: Client, microsoft: MicrosoftSettings,
                                                               eager: None) -> None:
    _, first = ApiKey.issue("dup")
    _, second = ApiKey.issue("dup")
    task_id = post(client, "/api/functions/users.get/execute?async=1",
                   {"params": {"user_id": "adele@contoso.test"}}, first).json()["task_id"]
    assert client.get(f"/api/tasks/{task_id}", **auth(first)).status_code == 200
    response = client.get(f"/api/tasks/{task_id}", **auth(second))
    assert (response.status_code, response.json()["error"]["code"]) == (404, "TaskNotFound")


def test_a_key_replacing_a_revoked_one_cannot_read_its_tasks(client: Client, microsoft: MicrosoftSettings,
                                                             eager: None) -> None:
    old, old_raw = ApiKey.issue("nightly sync")
    task_id = post(client, "/api/functions/users.get/execute?async=1",
                   {"params": {"user_id": "adele@contoso.test"}}, old_raw).json()["task_id"]
    old.revoked_at = timezone.now()
    old.save()
    _, new_raw = ApiKey.issue("nightly sync")
    response = client.get(f"/api/tasks/{task_id}", **auth(new_raw))
    assert (response.status_code, response.json()["error"]["code"]) == (404, "TaskNotFound")


def test_a_renamed_member_still_reads_their_task_and_a_new_namesake_cannot(client: Client, connect: Connect,
                                                                          eager: None) -> None:
    lee = connect("lee")
    client.force_login(lee)
    task_id = post(client, "/api/functions/users.get/execute?async=1", {"params": {"user_id": "me"}}).json()["task_id"]
    old_username = lee.username
    lee.username = "lee.renamed"
    lee.save()
    assert client.get(f"/api/tasks/{task_id}").json()["state"] == "succeeded"
    client.force_login(User.objects.create_user(old_username))
    response = client.get(f"/api/tasks/{task_id}")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "TaskNotFound")


def test_an_unknown_task_is_not_found(client: Client, key: str) -> None:
    response = client.get("/api/tasks/0b7e4a1c-0000-4000-8000-000000000000", **auth(key))
    assert (response.status_code, response.json()["error"]["code"]) == (404, "TaskNotFound")


def test_tasks_need_credentials(client: Client, db: None) -> None:
    response = client.get("/api/tasks/anything")
    assert response.status_code == 401


@pytest.fixture
def unreachable_broker() -> Iterator[None]:
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options

    def reset_pool() -> None:
        # Forget the app's pools so the next publish connects to the configured broker. Not closed:
        # kombu keeps them in a process-wide registry and hands them out again when the URL is back.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    reset_pool()
    conf.broker_url, conf.broker_transport_options = "redis://127.0.0.1:1/0", {}
    yield
    reset_pool()
    conf.broker_url, conf.broker_transport_options = saved


def test_an_unreachable_queue_is_queue_unavailable(client: Client, microsoft: MicrosoftSettings, key: str,
                                                   unreachable_broker: Any) -> None:
    response = post(client, "/api/functions/users.get/execute?async=1", {"params": {"user_id": "me"}}, key)
    assert (response.status_code, response.json()["error"]["code"]) == (503, "QueueUnavailable")


@pytest.mark.skipif(bool(__import__("os").environ.get("REDIS_URL")), reason="the filesystem result backend only")
def test_a_result_file_caught_half_written_reads_as_running(client: Client, key: str) -> None:
    from pathlib import Path

    from django.core.cache import cache

    from graphfns.tasks import OWNER_KEY

    task_id = "0d6a2d5e-8a44-4c39-9d1b-6a3f5f8e2c11"
    owner = f"api-key:{ApiKey.objects.get(name='sync job').pk}"
    cache.set(OWNER_KEY.format(task_id), {"owner": owner, "function": "users.get"}, 60)
    backend = celery_app.backend
    Path(backend.path.decode()).mkdir(parents=True, exist_ok=True)
    (Path(backend.path.decode()) / backend.get_key_for_task(task_id).decode()).write_text('{"status": "SUCC')
    body = client.get(f"/api/tasks/{task_id}", **auth(key))
    assert body.status_code == 200
    assert body.json()["state"] == "running"
