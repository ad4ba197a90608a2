"""Settings values and the settings form, as the tests fill them in."""

from __future__ import annotations

from typing import Any

from membership.forms import MicrosoftSettingsForm
from membership.models import MicrosoftSettings

GUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"


def settings_form(**changes: Any) -> MicrosoftSettingsForm:
    data = {
        "enabled": "",
        "client_id": CLIENT_ID,
        "client_secret": "",
        "tenant": "organizations",
        "allowed_tenant_ids": "",
        "authority_host": "https://login.microsoftonline.com",
        "graph_url": "https://graph.microsoft.com",
        "default_scopes": "User.Read",
        "app_tenant_id": "",
        "callback_url": "",
        "logout_url": "",
        "failure_url": "",
    }
    data.update(changes)
    return MicrosoftSettingsForm(data=data, instance=MicrosoftSettings(pk=1))


def errors(form: Any, field: str) -> str:
    assert not form.is_valid()
    return " ".join(form.errors[field])
