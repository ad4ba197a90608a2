"""A member clicks through sign-in in headless Chromium: our page, the emulator's pages, back signed in."""

from __future__ import annotations

import os
from typing import Any

import pytest

from membership.models import MicrosoftAccount, MicrosoftSettings

pytestmark = pytest.mark.e2e


def test_a_member_signs_in_with_microsoft_in_a_real_browser(
    live_server: Any, emulator: Any, microsoft: MicrosoftSettings, browser_page: Any
) -> None:
    microsoft.default_scopes = "User.Read Calendars.Read.Shared"  # not yet consented: the consent page shows
    microsoft.save()
    page = browser_page
    page.goto(f"{live_server.url}/signin/")
    page.get_by_role("link", name="Sign in with Microsoft").click()

    page.wait_for_url(f"{emulator.base_url}/**")
    page.get_by_role("button", name="Sign in as Alex Wilber").click()
    page.get_by_role("button", name="Accept").click()

    page.wait_for_url(f"{live_server.url}/account/")
    assert page.get_by_text("alex@contoso.test").first.is_visible()
    assert page.locator(".status").first.inner_text() == "Active"
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "account.png"), full_page=True)
    account = MicrosoftAccount.objects.get()
    assert account.username == "alex@contoso.test"
    assert "Calendars.Read.Shared" in account.granted_scopes
