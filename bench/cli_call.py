"""The cost of one CLI call (a measurement, not a test): `make bench` runs it.

``manage.py graph call users.get --app`` in a fresh process (write-behind call log on, as by
default; the application token already in the shared cache, as after the first call) against
``python -c "import django; django.setup()"`` alone, interleaved, median of the runs; the target
ratio is ≤ 1.15. Everything runs here against the emulator on loopback, in a throwaway SQLite
database and file cache.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.graph_functions import prepare_environment  # noqa: E402

SETUP_ONLY = [sys.executable, "-c", "import django; django.setup()"]
CLI_CALL = [sys.executable, "manage.py", "graph", "call", "users.get", "--param", "user_id=adele@contoso.test",
            "--app"]


def wall(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main(runs: int = 9) -> None:
    env = prepare_environment()
    env.pop("GRAPH_CALL_LOG_WRITE_BEHIND", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from emulator.server import start
    from membership.models import MicrosoftSettings

    running = start(state_dir=Path(env["VAR_DIR"]) / "emulator")
    info = running.info
    env["MICROSOFT_CA_BUNDLE"] = info["ca_file"]
    MicrosoftSettings(pk=1, enabled=True, client_id=info["client_id"], client_secret=info["client_secret"],
                      tenant=info["tenant_id"], app_tenant_id=info["tenant_id"],
                      authority_host=info["base_url"], graph_url=info["base_url"]).save()
    full_env = {**os.environ, **env}
    wall(CLI_CALL, full_env)  # warm-up: the application token, OS caches
    wall(SETUP_ONLY, full_env)
    setup, cli = [], []
    for _ in range(runs):
        setup.append(wall(SETUP_ONLY, full_env))
        cli.append(wall(CLI_CALL, full_env))
    running.stop()
    print(json.dumps({"cli_call": {
        "runs": runs,
        "django_setup_median_seconds": round(statistics.median(setup), 3),
        "cli_call_median_seconds": round(statistics.median(cli), 3),
        "ratio": round(statistics.median(cli) / statistics.median(setup), 3),
        "target_ratio": 1.15,
    }}, indent=2))


if __name__ == "__main__":
    main()
