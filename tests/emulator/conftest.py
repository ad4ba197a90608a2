"""One emulator per test session, reset to its seed before every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msal
import pytest
import requests

from emulator.server import RunningEmulator, start


@pytest.fixture(scope="session")
def running_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    running = start(state_dir=tmp_path_factory.mktemp("emulator"))
    yield running
    running.stop()


@pytest.fixture
def emu(running_emulator: RunningEmulator) -> RunningEmulator:
    running_emulator.emulator.reset()
    return running_emulator


@pytest.fixture
def http(emu: RunningEmulator) -> Iterator[requests.Session]:
    """A requests session that trusts only the emulator's CA (REQUESTS_CA_BUNDLE is ignored)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = emu.ca_file
    yield session
    session.close()


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


def ca_path(emu: RunningEmulator) -> Path:
    return Path(emu.ca_file)
