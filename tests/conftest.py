"""Fixtures shared by every test package."""

from __future__ import annotations

import pytest

from membership.models import MicrosoftSettings

GUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def ms_settings(db: None) -> MicrosoftSettings:
    """A filled-in, enabled settings row."""
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
