"""Fixtures of the emulator's own tests (the emulator itself, ``emulator``, comes from tests/conftest.py)."""

from __future__ import annotations

import msal
import pytest
import requests

from emulator.server import RunningEmulator


@pytest.fixture
def msal_client(emulator: RunningEmulator, http_emulator: requests.Session) -> msal.ConfidentialClientApplication:
    """MSAL's confidential client for the emulator's seeded app, over a session that trusts only its CA."""
    info = emulator.info
    return msal.ConfidentialClientApplication(
        info["client_id"],
        client_credential=info["client_secret"],
        authority=f"{emulator.base_url}/{info['tenant_id']}",
        http_client=http_emulator,
        instance_discovery=False,
    )
