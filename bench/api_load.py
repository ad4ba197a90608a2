"""HTTP API under production settings (a measurement, not a test): `make bench` runs it.

gunicorn (2 workers × 4 threads, DEBUG off) on PostgreSQL and Redis against the emulator, started
by scripts/stack.py. Reports, all from the same run:

1. sequential p50 of ``POST /api/functions/users.get/execute`` (API key, application call) vs
   ``graphfns.execute`` in this process, interleaved (target: API p50 ≤ execute p50 + 1.5 ms);
2. calls/s, p50 and p99 with 8 concurrent clients;
3. the same under a 20% fault mix at Graph (10% 503, 5% 429 with Retry-After 1, 5% dropped
   connections): statuses, 500s (target 0), and whether every failure is a catalog code;
4. ``calendar.create_event`` with idempotency keys under the fault mix, each client retrying a failed
   event with the same key: events the emulator holds vs events asked for (target: 0 duplicates).

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/membership_bench, made
afresh); Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379/11, emptied).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.stack import Stack  # noqa: E402

ADELE = {"params": {"user_id": "adele@contoso.test"}}
CLIENTS = 8


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def concurrent(stack: Stack, total: int, make_body: Any, name: str = "users.get") -> dict[str, Any]:
    """``total`` calls from CLIENTS threads, each with its own keep-alive session; bounded."""
    url = f"{stack.base_url}/api/functions/{name}/execute"
    times: list[float] = []
    statuses: Counter[int] = Counter()
    codes: Counter[str] = Counter()
    lock = threading.Lock()
    counter = iter(range(total))

    def client() -> None:
        http = stack.api_session()
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t0 = time.perf_counter()
            response = http.post(url, json=make_body(i), timeout=120)
            elapsed = time.perf_counter() - t0
            code = response.json().get("error", {}).get("code", "") if response.status_code >= 400 else ""
            with lock:
                times.append(elapsed)
                statuses[response.status_code] += 1
                if code:
                    codes[code] += 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"calls": total, "calls_per_second": round(total / wall, 1), "p50_ms": ms(percentile(times, 0.5)),
            "p99_ms": ms(percentile(times, 0.99)), "statuses": dict(statuses), "error_codes": dict(codes)}


def main() -> None:
    database = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/membership_bench")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    results: dict[str, Any] = {}
    with Stack(database_url=database, redis_url=redis_url, worker=False, beat=False, log_level="WARNING") as stack:
        import graphfns
        from graphfns.errors import CATALOG

        api = stack.api_session()
        url = f"{stack.base_url}/api/functions/users.get/execute"
        for _ in range(100):  # warm-up: connections, application token, memos, every gunicorn thread
            assert api.post(url, json=ADELE, timeout=30).status_code == 200
            graphfns.execute("users.get", ADELE["params"], caller="bench")

        # 1. sequential, interleaved so both see the same machine state.
        over_http, in_process = [], []
        for _ in range(1000):
            t0 = time.perf_counter()
            response = api.post(url, json=ADELE, timeout=30)
            t1 = time.perf_counter()
            graphfns.execute("users.get", ADELE["params"], caller="bench")
            t2 = time.perf_counter()
            assert response.status_code == 200, response.text[:300]
            over_http.append(t1 - t0)
            in_process.append(t2 - t1)
        api_p50, exec_p50 = statistics.median(over_http), statistics.median(in_process)
        results["sequential"] = {
            "api_p50_ms": ms(api_p50), "execute_p50_ms": ms(exec_p50), "difference_ms": ms(api_p50 - exec_p50),
            "api_p99_ms": ms(percentile(over_http, 0.99)), "target_difference_ms": 1.5,
            "met": api_p50 <= exec_p50 + 0.0015,
        }

        # 2. 8 concurrent clients.
        results["concurrent_8"] = concurrent(stack, 4000, lambda i: ADELE)

        # 3. the fault mix at Graph: 10% 503, 5% 429 (Retry-After 1), 5% dropped connections.
        # Faults are tried in order, each with its own chance: scale the later ones to the share left.
        control = f"{stack.info['base_url']}/_emulator/faults"
        emu = stack.emulator_session()
        emu.delete(control)
        for fault in ({"kind": "status", "status": 503, "rate": 0.10},
                      {"kind": "status", "status": 429, "retry_after": 1, "rate": 0.05 / 0.90},
                      {"kind": "reset", "rate": 0.05 / 0.85}):
            assert emu.post(control, json={**fault, "path": "/v1.0/*"}).status_code in (200, 201)
        faulted = concurrent(stack, 800, lambda i: ADELE)
        faulted["http_500s"] = faulted["statuses"].get(500, 0)
        faulted["non_catalog_codes"] = sorted(set(faulted["error_codes"]) - set(CATALOG))
        results["concurrent_8_fault_mix"] = faulted

        # 4. events with idempotency keys under the same faults; a failed event is retried with its key.
        lee = "lee@contoso.test"
        run = f"bench-{int(time.time())}"
        events, attempts = 200, 5
        pending = list(range(events))
        statuses: Counter[int] = Counter()
        codes: Counter[str] = Counter()
        for _ in range(attempts):
            if not pending:
                break
            failed: list[int] = []
            lock = threading.Lock()

            def body(i: int) -> dict[str, Any]:
                return {"params": {"user_id": lee, "event": {
                    "subject": f"{run} #{i}", "start": {"dateTime": "2031-01-10T09:00:00", "timeZone": "UTC"},
                    "end": {"dateTime": "2031-01-10T09:30:00", "timeZone": "UTC"}}},
                    "idempotency_key": f"{run}-{i}"}

            queue = iter(pending)

            def client(queue: Any = queue, failed: list[int] = failed, lock: threading.Lock = lock) -> None:
                http = stack.api_session()
                create = f"{stack.base_url}/api/functions/calendar.create_event/execute"
                while True:
                    with lock:
                        i = next(queue, None)
                    if i is None:
                        return
                    response = http.post(create, json=body(i), timeout=120)
                    with lock:
                        statuses[response.status_code] += 1
                        if response.status_code != 200:
                            codes[response.json().get("error", {}).get("code", "?")] += 1
                            failed.append(i)

            threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            pending = failed
        listed = emu.get(control).json()
        faults = listed.get("faults", listed) if isinstance(listed, dict) else listed
        results["faults_fired_at_graph"] = {f"{f['kind']} {f['status'] if f['kind'] == 'status' else ''}".strip():
                                            f["fired"] for f in faults}
        emu.delete(control)
        held = graphfns.execute("calendar.list_events", {"user_id": lee, "filter": f"startswith(subject,'{run}')",
                                                         "select": ["subject"]}, caller="bench")
        items = held["value"] if isinstance(held, dict) else held
        subjects = Counter(e["subject"] for e in items)
        results["create_event_fault_mix"] = {
            "events_asked": events, "events_held_by_emulator": sum(subjects.values()),
            "distinct_events": len(subjects), "duplicates": sum(n - 1 for n in subjects.values() if n > 1),
            "never_created_after_retries": len(pending), "statuses": dict(statuses), "error_codes": dict(codes),
            "http_500s": statuses.get(500, 0), "non_catalog_codes": sorted(set(codes) - set(CATALOG)),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
