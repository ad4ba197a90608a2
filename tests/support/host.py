"""A fresh Django site that installs this project's wheel, as docs/install.md tells a site owner to.

The wheel is built from a copy of the source tree (setuptools' in-tree ``build/`` folder may hold files
an earlier build had, since moved), installed into a new virtualenv with its runtime dependencies
from the package index, and added to a ``django-admin startproject`` site with the files in
tests/host/site/ (an e-mail-only user model, a page calling Graph, the site's own Celery app). The
site runs in its own processes (``runserver``, a Celery worker) from that virtualenv: nothing of this
repository is importable there.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from cryptography.fernet import Fernet

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
SITE_FILES = ROOT / "tests" / "host" / "site"
# What the wheel is built from: the repository without its tooling, tests and local state (top level),
# and without caches anywhere.
NOT_SOURCE = {".git", ".venv", "var", "build", "tests", "bench", "scripts", ".ci", ".env"}
CACHE_FOLDERS = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*_cache")


def _not_source(folder: str, names: list[str]) -> set[str]:
    skipped = set(CACHE_FOLDERS(folder, names))
    return skipped | (NOT_SOURCE & set(names)) if Path(folder) == ROOT else skipped


# The site's processes get the environment minus what points into this repository or its settings.
NOT_INHERITED = ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
REDIS_DB = 14  # the host's Redis database when the run has REDIS_URL


def run(args: list[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 300) -> str:
    """Run a command to completion; its output, or an AssertionError quoting it."""
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def build_wheel(out: Path) -> Path:
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=_not_source, symlinks=True)
    run([sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--quiet", "-w", out / "wheels"])
    (wheel,) = (out / "wheels").glob("*.whl")
    return wheel


def make_virtualenv(path: Path, wheel: Path) -> Path:
    """A new virtualenv with the wheel and its dependencies; its python."""
    run([sys.executable, "-m", "venv", "--without-pip", path])
    python = path / "bin" / "python"
    pip(python, "install", "--quiet", "--find-links", wheel.parent, wheel)
    return python


def pip(python: Path, *args: str | Path) -> str:
    """This run's pip, acting on another environment."""
    return run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python, *args])


def redis_url(db: int) -> str:
    parts = urlsplit(os.environ["REDIS_URL"])
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


def settings_block(site: Path, *, url: str, ca_file: str) -> str:
    """What the site adds to its settings.py (docs/install.md), in plain Python."""
    if os.environ.get("REDIS_URL"):
        redis = redis_url(REDIS_DB)
        queue = f"""
# Redis: the cache (shared by the web and worker processes), the token-refresh locks, Celery's queue.
REDIS_URL = {redis!r}
CACHES = {{"default": {{"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": {redis!r}}}}}
CELERY_BROKER_URL = {redis!r}
CELERY_RESULT_BACKEND = {redis!r}
"""
    else:
        queue = """
# No Redis: the cache is shared through files, token-refresh locks are files in VAR_DIR.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                      "LOCATION": BASE_DIR / "cache"}}
# No broker server here: kombu's filesystem transport, results in files.
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(BASE_DIR / "queue"),
    "data_folder_out": str(BASE_DIR / "queue"),
    "processed_folder": str(BASE_DIR / "queue"),
    "store_processed": False,
}
CELERY_RESULT_BACKEND = f"file://{BASE_DIR / 'results'}"
"""
        for folder in ("queue", "results"):
            (site / folder).mkdir()
    return f"""

# --- Sign in with Microsoft and Graph functions ---
INSTALLED_APPS += ["django_celery_beat", "membership", "graphfns", "accounts"]
# An older site's primary keys: the apps keep their own (no migrations of theirs to write).
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "membership:login"
SITE_URL = {url!r}
FIELD_ENCRYPTION_KEY = {Fernet.generate_key().decode()!r}
VAR_DIR = BASE_DIR / "var"
# Task messages and results encrypted with FIELD_ENCRYPTION_KEY (membership registers the serializer).
CELERY_TASK_SERIALIZER = "fernet-json"
CELERY_RESULT_SERIALIZER = "fernet-json"
CELERY_ACCEPT_CONTENT = ["fernet-json"]
# The web process and the worker share the SQLite file: wait for each other's writes.
DATABASES["default"]["OPTIONS"] = {{"timeout": 20}}
{queue}
# The emulator stands in for Microsoft: trust its CA, and let it receive the client secret.
MICROSOFT_CA_BUNDLE = {ca_file!r}
MICROSOFT_ALLOWED_HOSTS = ["127.0.0.1"]
"""


class HostSite:
    """A started site: its folder, virtualenv, address and processes."""

    def __init__(self, folder: Path, python: Path) -> None:
        self.folder = folder
        self.python = python
        self.bin = python.parent
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @classmethod
    def create(cls, folder: Path, python: Path, *, ca_file: str) -> HostSite:
        """``startproject hostsite``, then the site's own files and settings."""
        folder.mkdir()
        site = cls(folder, python)
        run([site.bin / "django-admin", "startproject", "hostsite", folder], env=site.env)
        shutil.copytree(SITE_FILES, folder, dirs_exist_ok=True)
        with (folder / "hostsite" / "settings.py").open("a") as settings:
            settings.write(settings_block(folder, url=site.url, ca_file=ca_file))
        return site

    def manage(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
        return run([self.python, "manage.py", *args], cwd=self.folder, env={**self.env, **(env or {})},
                   timeout=timeout)

    def shell(self, code: str) -> Any:
        """Run ``code`` in ``manage.py shell``; the JSON it prints last."""
        return json.loads(self.manage("shell", "-c", code).strip().splitlines()[-1])

    def reverse(self, name: str) -> str:
        """The path of the site's URL named ``name``."""
        return str(self.shell(f"import json; from django.urls import reverse; print(json.dumps(reverse({name!r})))"))

    def start(self) -> None:
        self._spawn("web", [self.python, "manage.py", "runserver", "--noreload", "--nothreading",
                            f"127.0.0.1:{self.port}"])
        self._spawn("worker", [self.bin / "celery", "-A", "hostsite", "worker", "-P", "solo", "-n",
                               f"host-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
                               "--without-heartbeat", "-l", "INFO"])
        deadline = time.monotonic() + 60
        while not (self._answers() and "ready." in self.log("worker")):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes.values()):
                raise AssertionError(f"The host site did not start.\n{self.logs()}")
            time.sleep(0.3)

    def _spawn(self, name: str, args: list[str | Path]) -> None:
        log = (self.folder / f"{name}.log").open("wb")
        # A session of its own: stop() ends the process and anything it started.
        self.processes[name] = subprocess.Popen([str(a) for a in args], cwd=self.folder, env=self.env,
                                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def _answers(self) -> bool:
        try:
            requests.get(self.url + "/admin/login/", timeout=2)
        except requests.ConnectionError:
            return False
        return True

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {name}.log ---\n{self.log(name)[-10000:]}" for name in self.processes)

    def stop(self) -> None:
        for proc in self.processes.values():
            _signal_group(proc, signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the process and everything it started have ended
        os.killpg(proc.pid, sig)
