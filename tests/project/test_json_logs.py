"""LOG_FORMAT=json: one JSON object per line, with request id and the Graph call's ids; no secrets."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from graphfns.app_tokens import AppTokenCache
from graphfns.models import ApiKey
from membership.models import MicrosoftSettings
from project.request_log import JsonFormatter, RequestIdFilter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_an_api_call_logs_json_lines_with_its_ids_and_no_secret(
        client: Client, microsoft: MicrosoftSettings, json_lines: io.StringIO) -> None:
    _, raw = ApiKey.issue("intranet sync")
    response = client.post("/api/functions/users.get/execute?secret=not-logged", {"params": {"user_id": "adele@contoso.test"}},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    request_id = response["X-Request-ID"]
    text = json_lines.getvalue()
    entries = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    call = next(e for e in entries if e.get("function") == "users.get")
    assert call["request_id"] == request_id
    assert call["caller"] == "api-key:intranet sync"
    assert call["code"] == "ok"
    assert call["duration_ms"] > 0
    assert call["graph_request_id"] and call["client_request_id"]
    assert call["graph_request_id"] != call["client_request_id"]
    request = next(e for e in entries if e["logger"] == "project.requests")
    assert (request["request_id"], request["path"], request["status"]) == (request_id, "/api/functions/users.get/execute",
                                                                          200)
    for secret in (raw, AppTokenCache(microsoft).token(), microsoft.client_secret, "not-logged"):
        assert secret not in text


def test_a_proxys_request_id_is_kept_and_a_malformed_one_replaced(client: Client) -> None:
    assert client.get("/healthz", HTTP_X_REQUEST_ID="edge-1234abcd")["X-Request-ID"] == "edge-1234abcd"
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="<script>")["X-Request-ID"]
    assert replaced != "<script>" and len(replaced) == 32


def test_log_format_json_configures_the_console(tmp_path: Path) -> None:
    code = ("import django, logging; django.setup(); logging.getLogger('probe').warning('hello %s', 'world')")
    env = {**os.environ, "LOG_FORMAT": "json", "VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "project.settings"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    line: dict[str, Any] = json.loads(done.stderr.strip().splitlines()[-1])
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "probe", "hello world")
