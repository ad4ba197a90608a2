"""Fixtures shared by every test package: settings rows, the emulator, a scripted member."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.models import User

from emulator.server import RunningEmulator, start
from membership.accounts import link_member, store_tokens
from membership.identity import msal_app, validate_id_token
from membership.models import MicrosoftAccount, MicrosoftSettings
from tests.browser import MemberBrowser
from tests.support.servers import PrivateRedis

GUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(autouse=True)
def _fresh_settings_memo() -> Iterator[None]:
    """MicrosoftSettings.current() memoises the row for a few seconds; a test starts from the database."""
    MicrosoftSettings.forget()
    yield
    MicrosoftSettings.forget()


@pytest.fixture
def ms_settings(db: None) -> MicrosoftSettings:
    """A filled-in, enabled settings row (not connected to anything)."""
    obj = MicrosoftSettings(
        pk=1,
        enabled=True,
        client_id=CLIENT_ID,
        client_secret="s3cr3t-VALUE-abcd",
        tenant=GUID,
        default_scopes="User.Read Calendars.Read",
        app_tenant_id=GUID,
    )
    obj.save()
    return obj


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    running = start(state_dir=tmp_path_factory.mktemp("emulator"))
    yield running
    running.stop()


@pytest.fixture
def emulator(emulator_server: RunningEmulator) -> RunningEmulator:
    """The emulator, back to its seed for this test."""
    emulator_server.emulator.reset()
    return emulator_server


@pytest.fixture
def microsoft(transactional_db: None, emulator: RunningEmulator, settings: Any) -> MicrosoftSettings:
    """Settings pointing at the emulator's seeded app and tenant, as `make demo` sets them."""
    info = emulator.info
    settings.MICROSOFT_CA_BUNDLE = info["ca_file"]
    obj = MicrosoftSettings(
        pk=1,
        enabled=True,
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        tenant=info["tenant_id"],
        authority_host=info["base_url"],
        graph_url=info["base_url"],
        default_scopes="User.Read Calendars.ReadWrite",
        app_tenant_id=info["tenant_id"],
    )
    obj.save()
    return obj


@pytest.fixture
def member(emulator: RunningEmulator) -> Iterator[MemberBrowser]:
    browser = MemberBrowser(emulator.ca_file)
    yield browser
    browser.http.close()


def seeded_user(emulator: RunningEmulator, nickname: str, tenant: int = 0) -> dict[str, Any]:
    """A seeded user by first name, e.g. seeded_user(emulator, "lee")."""
    for user in emulator.emulator.state["tenants"][tenant]["users"]:
        if user["mailNickname"] == nickname:
            return user
    raise KeyError(nickname)


@pytest.fixture
def http_emulator(emulator: RunningEmulator) -> Iterator[Any]:
    """A requests session that trusts the emulator's CA (for its control API)."""
    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = emulator.ca_file
    yield session
    session.close()


Connect = Callable[..., User]



@pytest.fixture
def connect(emulator: Any, microsoft: MicrosoftSettings) -> Connect:
    """connect("lee", scopes=[...]) → a platform user whose Microsoft account is connected."""

    def run(nickname: str, scopes: list[str] | None = None, tenant: int = 0) -> User:
        emu = emulator.emulator
        emu.auto_approve = True
        upn = seeded_user(emulator, nickname, tenant)["userPrincipalName"]
        app = msal_app(microsoft)
        flow = app.initiate_auth_code_flow(scopes or microsoft.default_scope_list,
                                           redirect_uri="http://localhost/auth/microsoft/callback/",
                                           login_hint=upn)
        http = requests.Session()
        http.trust_env = False
        http.verify = emulator.ca_file
        answer = http.get(flow["auth_uri"], allow_redirects=False)
        params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
        result = app.acquire_token_by_auth_code_flow(flow, params)
        assert "access_token" in result, result
        claims = validate_id_token(microsoft, result["id_token"], nonce=flow["nonce"])
        account = link_member(claims, ms=microsoft, mode=None)
        store_tokens(account, result)
        emu.auto_approve = False
        return account.user

    return run


def account_of(user: User) -> MicrosoftAccount:
    return MicrosoftAccount.objects.get(user=user)


def database_url() -> str:
    """The URL of the database this test run uses (the test database), for worker processes."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Workers:
    """Real Celery worker processes on this run's broker, database and emulator."""

    def __init__(self, env: dict[str, str], count: int) -> None:
        self.env = env
        self.root = Path(__file__).resolve().parents[1]
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


@pytest.fixture(scope="session")
def celery_worker_processes(django_db_setup: None, django_db_blocker: Any,
                            emulator_server: RunningEmulator) -> Iterator[Workers]:
    """Two worker processes for the whole run (started on first use)."""
    with django_db_blocker.unblock():
        url = database_url()
    env = {**os.environ, "DATABASE_URL": url, "MICROSOFT_CA_BUNDLE": emulator_server.ca_file,
           "DJANGO_SETTINGS_MODULE": "project.settings"}
    workers = Workers(env, 2)
    yield workers
    workers.stop()


@pytest.fixture
def celery_workers(celery_worker_processes: Workers) -> Workers:
    """The workers, with an empty queue: tasks other tests left behind would delay this one's."""
    from project.celery import app

    app.control.purge()
    return celery_worker_processes


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis server of this test's own, which the test may stop (an outage)."""
    server = PrivateRedis(tmp_path)
    yield server
    server.stop()
