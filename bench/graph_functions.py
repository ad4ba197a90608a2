"""Graph functions benchmarks (a measurement, not a test): `make bench` runs it.

Everything runs here against the emulator on loopback, in a throwaway SQLite database and file
cache, and every figure is reported against a baseline measured in the same run:

1. per-call overhead: ``users.get`` through ``graphfns.execute`` (application token cached) vs a
   bare ``requests`` GET of the same emulator URL with a fixed token — median ratio (target ≤ 1.15);
2. 4 processes × 250 application calls: token requests the emulator saw (must be 1);
3. a process that executes one function: start-up time and peak memory vs a process that only
   runs ``django.setup()``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def prepare_environment() -> dict[str, str]:
    from cryptography.fernet import Fernet

    var = Path(tempfile.mkdtemp(prefix="graph-bench-"))
    env = {
        "READ_DOT_ENV": "false", "DEBUG": "true", "VAR_DIR": str(var),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(), "DJANGO_SETTINGS_MODULE": "project.settings",
        "MICROSOFT_ALLOWED_HOSTS": "127.0.0.1",  # the emulator
        "LOG_LEVEL": "WARNING",
    }
    for key in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(key, None)
    os.environ.update(env)
    return env


WORKER = """
import sys, time, django
django.setup()
import graphfns
n = int(sys.argv[1])
for _ in range(n):
    graphfns.execute("users.get", {"user_id": "adele@contoso.test"}, caller="bench")
print("ok")
"""

# Peak memory from VmHWM: ru_maxrss survives exec on Linux and would report the parent's peak.
PEAK = ("import re; print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")
STARTUP_BASE = "import django; django.setup(); " + PEAK
STARTUP_CALL = ("import django; django.setup(); import graphfns; "
                "graphfns.execute('users.get', {'user_id': 'adele@contoso.test'}, caller='bench'); " + PEAK)


def timed_process(code: str, env: dict[str, str], runs: int = 5) -> tuple[float, int]:
    times, rss = [], []
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, check=True,
                             capture_output=True, text=True).stdout
        times.append(time.perf_counter() - started)
        rss.append(int(out.strip().splitlines()[-1]))
    return statistics.median(times), int(statistics.median(rss))


def main() -> None:
    env = prepare_environment()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import graphfns
    from bench.emulator_throughput import emulator_session
    from emulator.server import start
    from graphfns.app_tokens import AppTokenCache
    from membership.models import MicrosoftSettings

    running = start(state_dir=Path(env["VAR_DIR"]) / "emulator")
    info = running.info
    os.environ["MICROSOFT_CA_BUNDLE"] = env["MICROSOFT_CA_BUNDLE"] = info["ca_file"]
    from django.conf import settings

    settings.MICROSOFT_CA_BUNDLE = info["ca_file"]
    ms = MicrosoftSettings(pk=1, enabled=True, client_id=info["client_id"], client_secret=info["client_secret"],
                           tenant=info["tenant_id"], app_tenant_id=info["tenant_id"],
                           authority_host=info["base_url"], graph_url=info["base_url"])
    ms.save()
    emu = running.emulator
    results: dict[str, object] = {}

    # 1. per-call overhead, interleaved so both see the same machine state.
    token = AppTokenCache(ms).token()
    bare = emulator_session(info["ca_file"])
    url = f"{info['base_url']}/v1.0/users/adele@contoso.test"
    for _ in range(50):  # warm-up: connections, caches
        graphfns.execute("users.get", {"user_id": "adele@contoso.test"}, caller="bench")
        bare.get(url, headers={"Authorization": f"Bearer {token}"}).json()
    ours, theirs = [], []
    for _ in range(500):
        t0 = time.perf_counter()
        bare.get(url, headers={"Authorization": f"Bearer {token}"}).json()
        t1 = time.perf_counter()
        graphfns.execute("users.get", {"user_id": "adele@contoso.test"}, caller="bench")
        t2 = time.perf_counter()
        theirs.append(t1 - t0)
        ours.append(t2 - t1)
    results["per_call"] = {
        "bare_requests_median_ms": round(statistics.median(theirs) * 1000, 3),
        "execute_median_ms": round(statistics.median(ours) * 1000, 3),
        "median_ratio": round(statistics.median(ours) / statistics.median(theirs), 3),
        "target_ratio": 1.15,
    }

    # 2. 4 processes × 250 application calls share one token.
    AppTokenCache(ms).clear()
    emu.grants.clear()
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, "250"], cwd=ROOT, env={**os.environ, **env},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=600) for p in procs]
    failed = [err[-500:] for p, (_, err) in zip(procs, outs, strict=True) if p.returncode != 0]
    results["shared_app_token"] = {
        "processes": 4, "calls_per_process": 250,
        "token_requests_seen_by_emulator": emu.grants["client_credentials"],
        "wall_seconds": round(time.perf_counter() - started, 2),
        "failed_processes": failed,
    }

    # 3. start-up cost and memory of executing one function, vs django.setup() alone.
    base_t, base_rss = timed_process(STARTUP_BASE, env)
    call_t, call_rss = timed_process(STARTUP_CALL, env)
    results["process_executing_one_function"] = {
        "baseline_django_setup_seconds": round(base_t, 3), "seconds": round(call_t, 3),
        "time_ratio": round(call_t / base_t, 3),
        "baseline_peak_rss_kib": base_rss, "peak_rss_kib": call_rss, "rss_ratio": round(call_rss / base_rss, 3),
    }
    running.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
