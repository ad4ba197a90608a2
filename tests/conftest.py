"""Fixtures shared by every test package: settings rows, the emulator, a scripted member."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.models import User

from emulator.server import RunningEmulator, start
from membership.accounts import link_member
from membership.identity import msal_app, validate_id_token
from membership.models import MicrosoftSettings
from tests.support.browser import MemberBrowser
from tests.support.members import Connect, seeded_user
from tests.support.servers import PrivateRedis
from tests.support.settings import CLIENT_ID, GUID
from tests.support.workers import Workers, database_url, empty_queue


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


@pytest.fixture
def http_emulator(emulator: RunningEmulator) -> Iterator[Any]:
    """A requests session that trusts the emulator's CA (for its control API)."""
    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = emulator.ca_file
    yield session
    session.close()


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
        account.store_tokens(result)
        emu.auto_approve = False
        return account.user

    return run


@pytest.fixture(scope="session")
def celery_worker_processes(django_db_setup: None, django_db_blocker: Any,
                            emulator_server: RunningEmulator) -> Iterator[Workers]:
    """Two worker processes for the whole run (started on first use)."""
    with django_db_blocker.unblock():
        url = database_url()
    empty_queue()  # tasks an earlier test queued without a worker must not run here
    env = {**os.environ, "DATABASE_URL": url, "MICROSOFT_CA_BUNDLE": emulator_server.ca_file,
           "DJANGO_SETTINGS_MODULE": "project.settings"}
    workers = Workers(env, 2)
    yield workers
    workers.stop()


@pytest.fixture
def celery_queue() -> Iterator[None]:
    """An empty task queue for a test that queues tasks, emptied again after it: a task left behind would
    run later, in another test, on that test's workers."""
    empty_queue()
    yield
    empty_queue()


@pytest.fixture
def celery_workers(celery_worker_processes: Workers, celery_queue: None) -> Workers:
    """The workers, with an empty queue: tasks other tests left behind would delay this one's."""
    return celery_worker_processes


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis server of this test's own, which the test may stop (an outage)."""
    server = PrivateRedis(tmp_path)
    yield server
    server.stop()
