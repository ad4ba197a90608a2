"""Real Celery worker processes for the tests that need them, on this run's database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def database_url() -> str:
    """The URL of the database this test run uses (the test database), for worker processes."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def empty_queue() -> None:
    """Drop every task waiting in the broker's queues."""
    from project.celery import app

    app.control.purge()


class Workers:
    """Real Celery worker processes on this run's broker, database and emulator."""

    def __init__(self, env: dict[str, str], count: int) -> None:
        self.env = env
        self.root = Path(__file__).resolve().parents[2]
        self.logs = [Path(env["VAR_DIR"]) / f"worker-{i}.log" for i in range(count)]
        self.procs: list[subprocess.Popen[bytes]] = []
        for i, path in enumerate(self.logs):
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "project", "worker", "-c", "1", "-P", "prefork",
                 "-n", f"test{i}-{os.getpid()}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"],
                cwd=self.root, env=env, stdout=path.open("wb"), stderr=subprocess.STDOUT,
            ))
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        import time

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
