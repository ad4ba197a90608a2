"""`make bench`: every benchmark, one after the other, each printing its JSON figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("emulator_throughput.py", "graph_functions.py", "cli_call.py", "refresh_sweep.py", "api_load.py",
               "call_log_admin.py", "directory_sync.py"):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True)
