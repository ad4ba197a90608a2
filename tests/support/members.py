"""Members in tests: seeded users of the emulator, their connected accounts, signing in through the site."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User

from emulator.server import RunningEmulator
from membership.models import MicrosoftAccount
from tests.support.browser import MemberBrowser

Connect = Callable[..., User]
"""The type of the ``connect`` fixture: connect("lee", scopes=[...]) → a connected platform user."""


def seeded_user(emulator: RunningEmulator, nickname: str, tenant: int = 0) -> dict[str, Any]:
    """A seeded user by first name, e.g. seeded_user(emulator, "lee")."""
    for user in emulator.emulator.state["tenants"][tenant]["users"]:
        if user["mailNickname"] == nickname:
            return user
    raise KeyError(nickname)


def account_of(user: User) -> MicrosoftAccount:
    return MicrosoftAccount.objects.get(user=user)


def sign_in(live_server: Any, member: MemberBrowser, emulator: Any, nickname: str, query: str = "") -> Any:
    """Sign in through the emulator's pages as a seeded user, accepting consent if asked."""
    user = seeded_user(emulator, nickname)
    member.get(f"{live_server.url}/auth/microsoft/login/{query}")
    member.pick_user(user["id"])
    if "decision" in member.page.text and "accept" in member.page.text:
        member.accept()
    return member.page


def callback_url_for(live_server: Any, member: MemberBrowser, emulator: Any, nickname: str = "lee") -> str:
    """Run the flow up to the emulator's redirect back, without following it."""
    member.get(f"{live_server.url}/auth/microsoft/login/")
    response = member.pick_user(seeded_user(emulator, nickname)["id"], allow_redirects=False)
    location = response.headers["location"]
    assert location.startswith(f"{live_server.url}/auth/microsoft/callback/"), location
    return location
