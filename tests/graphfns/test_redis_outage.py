"""Redis stops: background calls answer 503 QueueUnavailable, synchronous calls keep working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from graphfns.models import ApiKey
from membership.models import MicrosoftSettings
from tests.support.servers import PrivateRedis
from tests.support.workers import database_url

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys, django
django.setup()
from django.test import Client
import graphfns
out = {}
out["sync"] = graphfns.execute("users.get", {"user_id": "adele@contoso.test"}, caller="probe")["displayName"]
response = Client().post("/api/functions/users.get/execute?async=1", {"params": {"user_id": "adele@contoso.test"}},
                         content_type="application/json", HTTP_AUTHORIZATION="Bearer " + sys.argv[1])
out["async_status"] = response.status_code
out["async_body"] = response.json()
print(json.dumps(out))
"""


def probe(port: int, key: str, emulator: Any, var: Path) -> dict[str, Any]:
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{port}/0", "DATABASE_URL": database_url(),
           "MICROSOFT_CA_BUNDLE": emulator.ca_file, "VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "project.settings"}
    done = subprocess.run([sys.executable, "-c", PROBE, key], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_redis_async_calls_answer_503_and_sync_calls_work(
    emulator: Any, microsoft: MicrosoftSettings, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    key = ApiKey.issue("outage probe")[1]
    up = probe(private_redis.port, key, emulator, tmp_path)
    assert up["sync"] == "Adele Vance"
    assert up["async_status"] == 202
    private_redis.stop()
    down = probe(private_redis.port, key, emulator, tmp_path)
    assert down["sync"] == "Adele Vance"
    assert down["async_status"] == 503, down
    assert down["async_body"]["error"]["code"] == "QueueUnavailable"
