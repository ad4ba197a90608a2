"""Real Celery worker processes on a given broker, database and emulator (for tests and benchmarks)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Workers:
    """``count`` Celery worker processes on the broker, database and emulator that ``env`` names."""

    def __init__(self, env: dict[str, str], count: int) -> None:
        self.env = env
        self.logs = [Path(env["VAR_DIR"]) / f"worker-{i}.log" for i in range(count)]
        self.procs: list[subprocess.Popen[bytes]] = []
        for i, path in enumerate(self.logs):
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "project", "worker", "-c", "1", "-P", "prefork",
                 "-n", f"test{i}-{os.getpid()}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"],
                cwd=ROOT, env=env, stdout=path.open("wb"), stderr=subprocess.STDOUT,
            ))
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all("ready." in p.read_text(errors="replace") for p in self.logs):
                return
            if any(proc.poll() is not None for proc in self.procs):
                break
            time.sleep(0.2)
        raise RuntimeError("Celery workers did not start:\n" + "\n".join(p.read_text()[-2000:] for p in self.logs))

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
