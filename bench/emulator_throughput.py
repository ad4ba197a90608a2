"""Emulator throughput on loopback with keep-alive (a measurement, not a test).

Starts ``python -m emulator serve`` in a subprocess, then from N client threads (one keep-alive
requests session each) measures:

* client-credentials token grants per second (``POST /{tenant}/oauth2/v2.0/token``);
* Graph ``GET /v1.0/users/{id}`` per second with an app token — or, if the Graph half does not
  answer that route yet, ``GET /{tenant}/discovery/v2.0/keys`` instead (reported as such).

Usage: ``.venv/bin/python bench/emulator_throughput.py [--requests 2000] [--threads 2]``.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def emulator_session(ca_file: str) -> requests.Session:
    """A keep-alive session that trusts the emulator's CA only (shared by the benchmarks)."""
    s = requests.Session()
    s.trust_env = False  # the emulator's CA only; ignore REQUESTS_CA_BUNDLE and proxies
    s.verify = ca_file
    return s


def measure(total: int, threads: int, ca_file: str, call: Callable[[requests.Session], int]) -> dict[str, float]:
    """Run ``total`` calls split over ``threads`` keep-alive sessions; every call must return 200."""
    per_thread = total // threads
    failures: list[int] = []
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        with emulator_session(ca_file) as s:
            call(s)  # warm the connection (TLS handshake) outside the timing
            mine: list[float] = []
            for _ in range(per_thread):
                t0 = time.perf_counter()
                status = call(s)
                mine.append(time.perf_counter() - t0)
                if status != 200:
                    failures.append(status)
            with lock:
                latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    done = per_thread * threads
    return {
        "requests": done,
        "seconds": round(elapsed, 3),
        "per_second": round(done / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "failures": len(failures),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as state:
        proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", "0", "--json",
                                 "--state-dir", state], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())
            base, tid, ca = info["base_url"], info["tenant_id"], info["ca_file"]
            token_url = f"{base}/{tid}/oauth2/v2.0/token"
            form = {"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
                    "client_id": info["client_id"], "client_secret": info["client_secret"]}

            def grant(s: requests.Session) -> int:
                return s.post(token_url, data=form).status_code

            with emulator_session(ca) as s:
                token = s.post(token_url, data=form).json()["access_token"]
                user_id = s.post(f"{base}/_emulator/tokens", json={"user": "adele@contoso.test"}).json()["user_id"]
                probe = s.get(f"{base}/v1.0/users/{user_id}", headers={"Authorization": f"Bearer {token}"})
            graph_ready = probe.status_code == 200 and probe.json().get("id") == user_id
            headers = {"Authorization": f"Bearer {token}"}

            def graph_user(s: requests.Session) -> int:
                return s.get(f"{base}/v1.0/users/{user_id}", headers=headers).status_code

            def keys(s: requests.Session) -> int:
                return s.get(f"{base}/{tid}/discovery/v2.0/keys").status_code

            result = {
                "threads": args.threads,
                "token_grants": measure(args.requests, args.threads, ca, grant),
            }
            if graph_ready:
                result["graph_get_user"] = measure(args.requests, args.threads, ca, graph_user)
            else:
                result["graph_get_user"] = f"not available (HTTP {probe.status_code}); measured keys instead"
                result["discovery_keys"] = measure(args.requests, args.threads, ca, keys)
            print(json.dumps(result, indent=2))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
