"""/healthz and /readyz on the real database, cache and broker (PostgreSQL and Redis in CI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from membership.models import MicrosoftSettings
from project import health
from tests.support.servers import PrivateRedis, free_port
from tests.support.workers import database_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def forget_microsoft_probe() -> None:
    health._microsoft_memo.update(at=-health.MICROSOFT_PROBE_MEMO, key=None, result=None)


def test_healthz_answers_without_touching_the_database(client: Client) -> None:
    response = client.get("/healthz")  # no db mark: any query would raise
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_cache_and_broker_with_their_latency(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    for name in ("database", "cache", "broker"):
        assert body["checks"][name]["ok"] is True, body
        assert body["checks"][name]["latency_ms"] >= 0
    assert body["checks"]["microsoft"]["ok"] is None  # sign-in is off: nothing to probe
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_reports_microsoft_reachable(client: Client, microsoft: MicrosoftSettings, emulator: Any) -> None:
    body = client.get("/readyz").json()
    assert body["checks"]["microsoft"]["ok"] is True, body
    assert body["checks"]["microsoft"]["status"] == 200
    assert body["checks"]["microsoft"]["fatal"] is False


def test_readyz_stays_ready_when_microsoft_is_unreachable(client: Client, microsoft: MicrosoftSettings) -> None:
    microsoft.authority_host = f"https://127.0.0.1:{free_port()}"  # nothing listens there
    microsoft.save()
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"]["microsoft"]["ok"] is False
    assert body["checks"]["microsoft"]["error"] == "ConnectionError"
    assert body["checks"]["microsoft"]["latency_ms"] < (health.MICROSOFT_TIMEOUT + 1) * 1000


PROBE = """
import json, django
django.setup()
from django.test import Client
response = Client().get("/readyz")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""


def readyz_with_redis(url: str, var: Path) -> dict[str, Any]:
    env = {**os.environ, "REDIS_URL": url, "DATABASE_URL": database_url(), "VAR_DIR": str(var),
           "DJANGO_SETTINGS_MODULE": "project.settings"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.django_db
def test_readyz_is_503_when_redis_is_down_and_names_what_failed(private_redis: PrivateRedis, tmp_path: Path) -> None:
    up = readyz_with_redis(private_redis.url, tmp_path)
    assert up["status"] == 200, up
    private_redis.stop()
    down = readyz_with_redis(private_redis.url, tmp_path)
    assert down["status"] == 503, down
    checks = down["body"]["checks"]
    assert down["body"]["status"] == "unavailable"
    assert checks["database"]["ok"] is True
    assert checks["cache"]["ok"] is False
    assert checks["broker"]["ok"] is False
    assert str(private_redis.port) not in json.dumps(down["body"])  # no connection details
