"""Members connected through the real authorization-code flow against the emulator (no browser)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.models import User

from membership.accounts import link_member, store_tokens
from membership.identity import msal_app, validate_id_token
from membership.models import MicrosoftAccount, MicrosoftSettings
from tests.conftest import seeded_user

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
