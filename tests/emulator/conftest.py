"""One emulator per test session, reset to its seed before every test."""

from __future__ import annotations

from typing import Any

import msal
import pytest
import requests

from emulator.server import RunningEmulator


@pytest.fixture(scope="session")
def running_emulator(emulator_server: RunningEmulator) -> RunningEmulator:
    """The run's one emulator (tests/conftest.py starts it)."""
    return emulator_server


@pytest.fixture
def emu(running_emulator: RunningEmulator) -> RunningEmulator:
    running_emulator.emulator.reset()
    return running_emulator


@pytest.fixture
def http(emu: RunningEmulator, http_emulator: requests.Session) -> requests.Session:
    """A requests session that trusts only the emulator's CA (REQUESTS_CA_BUNDLE is ignored)."""
    return http_emulator


@pytest.fixture
def msal_app(emu: RunningEmulator, http: requests.Session) -> msal.ConfidentialClientApplication:
    info = emu.info
    return msal.ConfidentialClientApplication(
        info["client_id"],
        client_credential=info["client_secret"],
        authority=f"{emu.base_url}/{info['tenant_id']}",
        http_client=http,
        instance_discovery=False,
    )


def graph_token(emu: RunningEmulator, upn: str | None, scopes: tuple[str, ...] = (), roles: tuple[str, ...] = (),
                domain: str = "contoso.test") -> str:
    """A Graph access token the emulator signed: delegated for ``upn``, else app-only with ``roles``."""
    tenant = emu.emulator.tenant(domain)
    assert tenant is not None
    app = emu.info["client_id"]
    if upn is None:
        return emu.emulator.issue_access_token(tenant["id"], app, roles=list(roles))[0]
    user = emu.emulator.user(tenant, upn)
    assert user is not None
    return emu.emulator.issue_access_token(tenant["id"], app, user=user, scopes=list(scopes))[0]


def graph_call(http: requests.Session, emu: RunningEmulator, method: str, path: str, token: str,
               json: Any = None, **headers: str) -> requests.Response:
    """A Graph request (``path`` under /v1.0, or an absolute nextLink) with ``token``."""
    url = path if path.startswith("https://") else f"{emu.base_url}/v1.0{path}"
    return http.request(method, url, json=json, headers={"Authorization": f"Bearer {token}", **headers})
