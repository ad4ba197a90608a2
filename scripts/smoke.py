"""End-to-end smoke check of the production stack: `python scripts/smoke.py` (CI runs it from .ci/run).

Starts the emulator, gunicorn, a Celery worker and beat on PostgreSQL and Redis with DEBUG off
(scripts/stack.py), checks a few things through them, stops them all on every path, prints
``smoke: N passed, M failed`` and exits non-zero when something failed.

Database: SMOKE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/membership_smoke, dropped and
made again); Redis: SMOKE_REDIS_URL (default redis://127.0.0.1:6379/10, emptied).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.stack import Stack  # noqa: E402

ADELE = {"params": {"user_id": "adele@contoso.test"}}


def check_readyz(stack: Stack) -> None:
    response = stack.api_session().get(stack.base_url + "/readyz", timeout=10)
    body = response.json()
    assert response.status_code == 200, body
    assert all(body["checks"][name]["ok"] for name in ("database", "cache", "broker", "microsoft")), body


def check_sync_call(stack: Stack) -> None:
    response = stack.api_session().post(stack.base_url + "/api/functions/users.get/execute", json=ADELE, timeout=30)
    assert response.status_code == 200, response.text[:500]
    assert response.json()["result"]["displayName"] == "Adele Vance"


def check_async_call(stack: Stack) -> None:
    http = stack.api_session()
    response = http.post(stack.base_url + "/api/functions/users.get/execute?async=1", json=ADELE, timeout=30)
    assert response.status_code == 202, response.text[:500]
    task_id = response.json()["task_id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = http.get(f"{stack.base_url}/api/tasks/{task_id}", timeout=10).json()
        if body["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert body["state"] == "succeeded", body
    assert body["result"]["displayName"] == "Adele Vance"


def check_metrics(stack: Stack) -> None:
    http = stack.api_session()
    assert http.get(stack.base_url + "/metrics", timeout=10).status_code == 401  # an API key is not the token
    response = http.get(stack.base_url + "/metrics", timeout=10,
                        headers={"Authorization": f"Bearer {stack.metrics_token}"})
    assert response.status_code == 200, response.status_code
    line = next((ln for ln in response.text.splitlines()
                 if ln.startswith("graphfns_function_calls_total{") and 'function="users.get"' in ln
                 and 'code="ok"' in ln), "")
    assert line and float(line.rsplit(" ", 1)[1]) >= 1, "no users.get call counted"


def check_worker_answers_ping(stack: Stack) -> None:
    done = subprocess.run([sys.executable, "-m", "celery", "-A", "project", "inspect", "ping", "--timeout", "5"],
                          cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "pong" in done.stdout, done.stdout[-500:] + done.stderr[-500:]


def check_beat_runs(stack: Stack) -> None:
    assert stack.procs["beat"].poll() is None, stack.tail("beat")
    assert "beat: Starting" in stack.logs["beat"].read_text(errors="replace"), stack.tail("beat")


def check_web_logs_are_json_without_secrets(stack: Stack) -> None:
    text = stack.logs["web"].read_text(errors="replace")
    entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    requests_logged = [e for e in entries if e.get("logger") == "project.requests"]
    assert requests_logged and all(e.get("request_id") for e in requests_logged), text[-1000:]
    calls = [e for e in entries if e.get("function") == "users.get"]
    assert calls and calls[0].get("graph_request_id"), text[-1000:]
    for secret in (stack.api_key, stack.metrics_token, stack.env["FIELD_ENCRYPTION_KEY"], stack.info["client_secret"]):
        assert secret not in text


def check_browser_sign_in(stack: Stack) -> None:
    """A member signs in with Microsoft in headless Chromium, through gunicorn and the emulator's pages."""
    from emulator.browser import chromium_page

    with chromium_page(stack.info["base_url"]) as page:
        page.goto(stack.base_url + "/signin/")
        page.get_by_role("link", name="Sign in with Microsoft").click()
        page.wait_for_url(stack.info["base_url"] + "/**")
        page.get_by_role("button", name="Sign in as Alex Wilber").click()
        accept = page.get_by_role("button", name="Accept")
        if accept.count():  # consent, the first time these scopes are asked for
            accept.click()
        page.wait_for_url(stack.base_url + "/account/", timeout=30_000)
        assert page.get_by_text("alex@contoso.test").first.is_visible(), page.content()[:500]


CHECKS: list[Callable[[Stack], None]] = [
    check_readyz, check_browser_sign_in, check_sync_call, check_async_call, check_metrics, check_worker_answers_ping,
    check_beat_runs, check_web_logs_are_json_without_secrets,
]


def main() -> int:
    database = os.environ.get("SMOKE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/membership_smoke")
    redis_url = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/10")
    passed = failed = 0
    try:
        with Stack(database_url=database, redis_url=redis_url) as stack:
            for check in CHECKS:
                try:
                    check(stack)
                except Exception as exc:
                    failed += 1
                    print(f"smoke: FAIL {check.__name__}: {type(exc).__name__}: {str(exc)[:800]}", flush=True)
                else:
                    passed += 1
                    print(f"smoke: ok   {check.__name__}", flush=True)
            if failed:
                for name in stack.logs:
                    print(f"--- {name} log (tail) ---\n{stack.tail(name, 1500)}")
    except Exception:
        traceback.print_exc()
        failed += 1
        print("smoke: the stack did not start")
    print(f"smoke: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
