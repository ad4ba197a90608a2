"""manage.py microsoft_settings: sign-in modes from the command line (the demo seeds `dev`)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from membership.models import MicrosoftSettings, SignInMode


def test_it_creates_then_changes_a_mode(ms_settings: MicrosoftSettings) -> None:
    out = StringIO()
    call_command("microsoft_settings", "--mode", "dev", "--mode-scopes", "User.Read, openid User.ReadBasic.All",
                 "--mode-override", "yes", stdout=out)
    mode = SignInMode.objects.get(name="dev")
    assert (mode.scopes, mode.override_default_scopes) == ("User.Read User.ReadBasic.All", True)
    assert "mode dev: override User.Read User.ReadBasic.All" in out.getvalue()
    call_command("microsoft_settings", "--mode", "dev", "--mode-override", "no", stdout=StringIO())
    mode.refresh_from_db()
    assert (mode.scopes, mode.override_default_scopes) == ("User.Read User.ReadBasic.All", False)


def test_it_refuses_bad_mode_input(ms_settings: MicrosoftSettings) -> None:
    with pytest.raises(CommandError, match="mode scopes"):
        call_command("microsoft_settings", "--mode", "dev", "--mode-scopes", "not a/scope!", stdout=StringIO())
    with pytest.raises(CommandError, match="need --mode"):
        call_command("microsoft_settings", "--mode-override", "yes", stdout=StringIO())
    assert not SignInMode.objects.exists()
