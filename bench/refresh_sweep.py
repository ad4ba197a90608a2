"""Refresh-sweep benchmark (a measurement, not a test): `make bench` runs it.

10,000 due accounts, 2 Celery worker processes, the emulator in its own process. Reports the
sweep's wall time, the token requests the emulator saw (must be exactly 10,000), the accounts
left unrefreshed (must be 0), and — measured in the same run, as the ceiling — the emulator's
own refresh-token grant capacity from 2 keep-alive client threads, with the ratio between them.

Database: BENCH_DATABASE_URL (e.g. PostgreSQL) or a SQLite file; broker: REDIS_URL if set, else
the filesystem transport. Usage: ``.venv/bin/python bench/refresh_sweep.py [--accounts 10000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.emulator_throughput import emulator_session  # noqa: E402


def environment(var: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {
        "READ_DOT_ENV": "false", "DEBUG": "true", "VAR_DIR": str(var), "LOG_LEVEL": "WARNING",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(), "DJANGO_SETTINGS_MODULE": "project.settings",
        "MICROSOFT_ALLOWED_HOSTS": "127.0.0.1",  # the emulator
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{var / 'bench.sqlite3'}",
        "GRAPH_CALL_LOG_WRITE_BEHIND": "true",
    }
    os.environ.update(env)
    return env


def start_emulator(var: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", "0", "--json",
                             "--state-dir", str(var / "emulator")], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def grant_capacity(info: dict[str, Any], http: Any, refresh_tokens: list[str], threads: int = 2) -> float:
    """Refresh-token grants per second the emulator serves to keep-alive clients."""
    url = f"{info['base_url']}/{info['tenant_id']}/oauth2/v2.0/token"
    chunks = [refresh_tokens[i::threads] for i in range(threads)]
    failures: list[int] = []

    def run(chunk: list[str]) -> None:
        session = emulator_session(info["ca_file"])
        for rt in chunk:
            r = session.post(url, data={"grant_type": "refresh_token", "refresh_token": rt, "scope": "User.Read",
                                        "client_id": info["client_id"], "client_secret": info["client_secret"]})
            if r.status_code != 200:
                failures.append(r.status_code)

    workers = [threading.Thread(target=run, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    assert not failures, failures[:5]
    return len(refresh_tokens) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--capacity-sample", type=int, default=2_000)
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    env = environment(var)
    emulator, info = start_emulator(var)
    env["MICROSOFT_CA_BUNDLE"] = os.environ["MICROSOFT_CA_BUNDLE"] = info["ca_file"]

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone

    from membership.models import MicrosoftAccount, MicrosoftSettings, RefreshSweep
    from membership.refresh import due_accounts
    from scripts.workers import Workers

    call_command("migrate", verbosity=0)
    MicrosoftSettings(pk=1, enabled=True, client_id=info["client_id"], client_secret=info["client_secret"],
                      tenant=info["tenant_id"], app_tenant_id=info["tenant_id"], authority_host=info["base_url"],
                      graph_url=info["base_url"], default_scopes="User.Read").save()
    http = emulator_session(info["ca_file"])
    control = f"{info['base_url']}/_emulator"
    upns = [u["userPrincipalName"] for u in http.get(f"{info['base_url']}/_emulator/health").json().get("users", [])] \
        or ["lee@contoso.test", "alex@contoso.test", "megan@contoso.test", "adele@contoso.test"]

    def mint(total: int) -> list[str]:
        tokens: list[str] = []
        per = -(-total // len(upns))
        for upn in upns:
            n = min(per, total - len(tokens))
            if n <= 0:
                break
            tokens += http.post(f"{control}/refresh-tokens",
                                json={"user": upn, "scopes": ["User.Read"], "count": n}).json()["refresh_tokens"]
        return tokens

    # The members: due for renewal (last renewed 8 days ago), each with a live refresh token.
    setup_started = time.perf_counter()
    tokens = mint(args.accounts)
    stale = timezone.now() - timedelta(days=8)
    users = User.objects.bulk_create([User(username=f"bench-{i}") for i in range(args.accounts)], batch_size=1000)
    MicrosoftAccount.objects.bulk_create([
        MicrosoftAccount(user=u, tenant_id=info["tenant_id"], object_id=f"00000000-0000-4000-8000-{i:012d}",
                         username=f"bench-{i}@contoso.test", granted_scopes="User.Read", refresh_token=rt,
                         last_refreshed_at=stale)
        for i, (u, rt) in enumerate(zip(users, tokens, strict=True))
    ], batch_size=1000)
    setup_seconds = time.perf_counter() - setup_started

    capacity = grant_capacity(info, http, mint(args.capacity_sample))
    http.delete(f"{control}/counters")

    workers = Workers({**os.environ, **env}, 2)
    try:
        from membership.tasks import sweep_refresh_tokens

        started = time.perf_counter()
        sweep_refresh_tokens.delay()
        while not RefreshSweep.objects.filter(finished_at__isnull=False).exists():
            time.sleep(0.25)
            if time.perf_counter() - started > 3600:
                raise SystemExit("the sweep did not finish within an hour")
        wall = time.perf_counter() - started
    finally:
        workers.stop()
    sweep = RefreshSweep.objects.get()
    seen = http.get(f"{control}/counters").json()["grants"].get("refresh_token", 0)
    unrefreshed = due_accounts(sweep.renewed_before).count()
    emulator.terminate()
    rate = args.accounts / wall
    print(json.dumps({
        "accounts_due": sweep.due,
        "workers": 2,
        "database": env["DATABASE_URL"].split(":", 1)[0],
        "broker": "redis" if os.environ.get("REDIS_URL") else "filesystem",
        "sweep_wall_seconds": round(wall, 2),
        "accounts_per_second": round(rate, 1),
        "token_requests_seen_by_emulator": seen,
        "expected_token_requests": args.accounts,
        "accounts_left_unrefreshed": unrefreshed,
        "sweep_counts": {"refreshed": sweep.refreshed, "failed": sweep.failed,
                         "needs_reconsent": sweep.needs_reconsent},
        "emulator_refresh_grants_per_second": round(capacity, 1),
        "ratio_of_emulator_capacity": round(rate / capacity, 3),
        "setup_seconds": round(setup_seconds, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
