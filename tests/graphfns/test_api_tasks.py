"""?async=1 and GET /api/tasks/<id>: the HTTP side of background calls.

Celery runs eagerly here (in the test's thread, results stored in the real result backend) only
to check the HTTP shapes; a real worker is exercised elsewhere.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from graphfns.models import ApiKey, FunctionCall
from membership.models import MicrosoftSettings
from project.celery import app as celery_app
from tests.support.api import post
from tests.support.members import Connect


@pytest.fixture(autouse=True)
def _no_task_left_behind(celery_queue: None) -> None:
    """Some tests here queue tasks with no worker to run them: none may wait for a later test's workers."""


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


def test_async_calls_are_authorized_before_they_are_queued(client: Client, connect: Connect, held_queue: str) -> None:
    lee, adele = connect("lee"), connect("adele")
    client.force_login(lee)
    response = post(client, "/api/functions/users.get/execute?async=1",
                    {"params": {"user_id": "me"}, "auth_user_id": adele.pk})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "PermissionDenied")
    assert held_messages(held_queue) == 0  # refused before anything reached the broker
    assert not FunctionCall.objects.exists()
    # The same call as themselves is queued (so the queue above was the one a call goes to).
    assert post(client, "/api/functions/users.get/execute?async=1", {"params": {"user_id": "me"}}).status_code == 202
    assert held_messages(held_queue) == 1


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


def test_tasks_need_credentials(client: Client, key: str) -> None:
    response = client.get("/api/tasks/anything")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "AuthenticationRequired")
    wrong = client.get("/api/tasks/anything", **auth(key[:-4] + "xxxx"))
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "AuthenticationRequired")
    # With a key the same request gets past authentication: the task is simply not there.
    found = client.get("/api/tasks/anything", **auth(key))
    assert (found.status_code, found.json()["error"]["code"]) == (404, "TaskNotFound")


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
    from membership.lib.encryption import encrypt

    task_id = "0d6a2d5e-8a44-4c39-9d1b-6a3f5f8e2c11"
    owner = f"api-key:{ApiKey.objects.get(name='sync job').pk}"
    cache.set(OWNER_KEY.format(task_id), {"owner": owner, "function": "users.get"}, 60)
    backend = celery_app.backend
    Path(backend.path.decode()).mkdir(parents=True, exist_ok=True)
    token = encrypt(json.dumps({"status": "SUCCESS", "result": {"result": {}}, "task_id": task_id}))
    (Path(backend.path.decode()) / backend.get_key_for_task(task_id).decode()).write_text(token[: len(token) // 2])
    body = client.get(f"/api/tasks/{task_id}", **auth(key))
    assert body.status_code == 200
    assert body.json()["state"] == "running"


# -- nothing readable at rest: queued messages and stored results are encrypted ---------------------

PASSWORD = "xWwvJ]6NMw+bWH-d"
NEW_USER = {"accountEnabled": True, "displayName": "Ada Lovelace", "mailNickname": "ada",
            "userPrincipalName": "ada@contoso.test", "passwordProfile": {"password": PASSWORD}}


@pytest.fixture
def held_queue() -> Iterator[str]:
    """Background calls go to a queue no worker reads, so their messages stay where they rest."""
    conf = celery_app.conf
    queue = f"held-{uuid.uuid4().hex}"
    saved = conf.task_routes
    conf.update(task_routes={"graphfns.run_function": {"queue": queue}})
    yield queue
    conf.update(task_routes=saved)
    celery_app.amqp.queues.pop(queue, None)
    if os.environ.get("REDIS_URL"):
        redis_client().delete(queue)
    else:
        for path in Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).glob(f"*.{queue}.msg"):
            path.unlink()


def redis_client() -> Any:
    import redis

    return redis.Redis.from_url(os.environ["REDIS_URL"])


def held_messages(queue: str) -> int:
    """How many messages rest on ``queue``."""
    if os.environ.get("REDIS_URL"):
        return int(redis_client().llen(queue))
    return len(list(Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).glob(f"*.{queue}.msg")))


def queued_messages(queue: str) -> list[bytes]:
    """Every message resting on the broker: the queue folder's files, or the Redis list of ``queue``."""
    if os.environ.get("REDIS_URL"):
        return list(redis_client().lrange(queue, 0, -1))
    folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    return [path.read_bytes() for path in folder.iterdir() if path.is_file()]


def test_a_queued_password_is_not_readable_on_the_broker(client: Client, microsoft: MicrosoftSettings, key: str,
                                                         held_queue: str) -> None:
    response = post(client, "/api/functions/users.create/execute?async=1", {"params": {"user": NEW_USER}}, key)
    assert response.status_code == 202, response.content
    task_id = response.json()["task_id"]
    messages = queued_messages(held_queue)
    assert any(task_id.encode() in raw for raw in messages), "the task's message is not on the broker"
    for raw in messages:
        assert PASSWORD.encode() not in raw
        assert b"ada@contoso.test" not in raw  # Celery copies a summary of the arguments into the headers
        message = json.loads(raw)
        body = base64.b64decode(message["body"]) if message["properties"].get("body_encoding") == "base64" \
            else message["body"].encode()
        assert PASSWORD.encode() not in body
        assert b"ada@contoso.test" not in body


def stored_result(task_id: str) -> bytes:
    """The result backend's entry for ``task_id``, as it rests (a Redis key or a file)."""
    backend = celery_app.backend
    name = backend.get_key_for_task(task_id)
    if os.environ.get("REDIS_URL"):
        return bytes(redis_client().get(name))
    return (Path(backend.path.decode()) / name.decode()).read_bytes()


def test_a_stored_result_does_not_show_the_created_user(client: Client, microsoft: MicrosoftSettings, key: str,
                                                       eager: None) -> None:
    response = post(client, "/api/functions/users.create/execute?async=1", {"params": {"user": NEW_USER}}, key)
    task_id = response.json()["task_id"]
    task = client.get(f"/api/tasks/{task_id}", **auth(key)).json()
    assert task["result"]["userPrincipalName"] == "ada@contoso.test"  # the owner still reads it
    raw = stored_result(task_id)
    for value in (b"ada@contoso.test", b"Ada Lovelace", b"SUCCESS"):
        assert value not in raw
        assert value not in base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=b"-_")


@pytest.fixture
def host_celery_without_results() -> Iterator[Any]:
    """Another site's own Celery app, current, with an in-memory broker and no result backend."""
    from celery import Celery
    from celery._state import get_current_app

    previous = get_current_app()
    host = Celery("hostsite", set_as_current=False)
    host.conf.update(broker_url="memory://", task_serializer="json", accept_content=["json"])
    host.set_current()
    try:
        yield host
    finally:
        previous.set_current()


def test_a_site_without_a_result_backend_is_told_so_instead_of_an_error(
        client: Client, microsoft: MicrosoftSettings, key: str, host_celery_without_results: Any) -> None:
    from graphfns.tasks import run_function

    assert run_function.app is host_celery_without_results  # the site's app, not one of ours
    response = post(client, "/api/functions/users.get/execute?async=1", {"params": {"user_id": "me"}}, key)
    assert response.status_code == 202
    task = client.get(f"/api/tasks/{response.json()['task_id']}", **auth(key))
    assert task.status_code == 501
    assert task.json()["error"]["code"] == "TaskResultsUnavailable"
    assert "CELERY_RESULT_BACKEND" in task.json()["error"]["message"]
