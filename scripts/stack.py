"""The production stack on this machine, for the smoke check and the API benchmark.

``Stack`` starts the emulator (HTTPS, loopback), then gunicorn, a Celery worker and beat with
production settings (DEBUG off) on PostgreSQL and Redis, each in its own process group, and stops
every one of them on ``stop()`` — which ``with Stack(...)`` calls on every path, and which also
runs at exit and on SIGTERM/SIGINT. It configures the site through Django in this process (migrate,
Microsoft settings pointing at the emulator, an API key), so the caller can also call
``graphfns.execute`` in-process against the same database, cache and emulator.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def recreate_database(url: str) -> None:
    """An empty PostgreSQL database at ``url`` (dropped first if it exists)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class Stack:
    def __init__(self, *, database_url: str, redis_url: str, worker: bool = True, beat: bool = True,
                 log_level: str = "INFO", quiet: bool = False) -> None:
        from cryptography.fernet import Fernet

        self.var = Path(tempfile.mkdtemp(prefix="membership-stack-"))
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.metrics_token = secrets.token_urlsafe(24)
        self.want_worker, self.want_beat, self.quiet = worker, beat, quiet
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "SESSION_", "CSRF_"))},
            "READ_DOT_ENV": "false", "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "project.settings",
            "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DATABASE_URL": database_url, "REDIS_URL": redis_url, "VAR_DIR": str(self.var / "var"),
            # Plain HTTP on loopback: no TLS redirect, cookies not Secure-only.
            "SECURE_SSL_REDIRECT": "false", "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false",
            "MICROSOFT_ALLOWED_HOSTS": "127.0.0.1",  # the emulator
            "METRICS_TOKEN": self.metrics_token, "PROMETHEUS_MULTIPROC_DIR": str(self.var / "metrics"),
            "LOG_FORMAT": "json", "LOG_LEVEL": log_level, "GRAPH_CALL_LOG_WRITE_BEHIND": "true",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
        }
        (self.var / "metrics").mkdir()
        self.info: dict[str, Any] = {}
        self.api_key = ""
        self._stopped = False

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        atexit.register(self.stop)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop()
        raise SystemExit(128 + signum)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        self.logs[name] = self.var / f"{name}.log"
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=self.logs[name].open("wb"),
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        import redis

        redis.Redis.from_url(self.env["REDIS_URL"]).flushdb()  # no task or cache entry of an earlier run
        recreate_database(self.env["DATABASE_URL"])
        self._start_emulator()
        self._configure_site()
        bin_dir = Path(sys.executable).parent
        self._spawn("web", [str(bin_dir / "gunicorn"), "-c", "python:project.gunicorn_conf", "project.wsgi"])
        if self.want_worker:
            self._spawn("worker", [sys.executable, "-m", "celery", "-A", "project", "worker", "-c", "2",
                                   "-n", f"smoke-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
                                   "-l", "INFO"])
        if self.want_beat:
            self._spawn("beat", [sys.executable, "-m", "celery", "-A", "project", "beat", "-l", "INFO",
                                 "-s", str(self.var / "beat-schedule")])
        self._wait_until(lambda: self._answers("/healthz"), "gunicorn to answer /healthz", 60)
        if self.want_worker:
            self._wait_until(lambda: "ready." in self.logs["worker"].read_text(errors="replace"),
                             "the Celery worker to be ready", 60)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for proc in self.procs.values():
            if proc.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def _wait_until(self, ready: Any, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            dead = [name for name, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited while waiting for {what}:\n" + self.tail(dead[0]))
            time.sleep(0.2)
        raise RuntimeError(f"timed out waiting for {what}")

    def _answers(self, path: str) -> bool:
        try:
            return requests.get(self.base_url + path, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def tail(self, name: str, chars: int = 3000) -> str:
        return self.logs[name].read_text(errors="replace")[-chars:] if name in self.logs else ""

    # -- setup ----------------------------------------------------------------------------------

    def _start_emulator(self) -> None:
        proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", "0", "--json",
                                 "--state-dir", str(self.var / "emulator")], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        self.procs["emulator"] = proc  # type: ignore[assignment]
        assert proc.stdout is not None
        self.info = json.loads(proc.stdout.readline())
        self.env["MICROSOFT_CA_BUNDLE"] = self.info["ca_file"]

    def _configure_site(self) -> None:
        os.environ.update(self.env)
        import django

        django.setup()
        from django.core.management import call_command

        from graphfns.models import ApiKey
        from membership.models import MicrosoftSettings

        call_command("migrate", verbosity=0)
        info = self.info
        MicrosoftSettings(pk=1, enabled=True, client_id=info["client_id"], client_secret=info["client_secret"],
                          tenant=info["tenant_id"], app_tenant_id=info["tenant_id"], authority_host=info["base_url"],
                          graph_url=info["base_url"], default_scopes="User.Read Calendars.ReadWrite").save()
        self.api_key = ApiKey.issue("stack check")[1]

    # -- talking to it ----------------------------------------------------------------------------

    def emulator_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.verify = self.info["ca_file"]
        return session

    def api_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.headers["Authorization"] = f"Bearer {self.api_key}"
        return session
