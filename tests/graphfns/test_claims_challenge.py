"""Continuous Access Evaluation: Graph's claims challenge on a member's call, answered by one renewal
with the claims, else the member is asked to sign in again with them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

import graphfns
from membership.models import MicrosoftAccount
from tests.support.api import failure
from tests.support.members import Connect, account_of


def _critical_event(emulator: Any, http_emulator: Any, kind: str) -> None:
    resp = http_emulator.post(f"{emulator.base_url}/_emulator/users/lee@contoso.test/critical-event", json={"kind": kind})
    assert resp.status_code == 200, resp.text


def test_the_sites_tokens_declare_it_answers_claims_challenges(connect: Connect) -> None:
    account = account_of(connect("lee"))
    assert jwt.decode(account.access_token, options={"verify_signature": False})["xms_cc"] == ["cp1"]


def test_a_claims_challenge_is_answered_by_one_renewal_with_the_claims(connect: Connect, emulator: Any,
                                                                      http_emulator: Any) -> None:
    lee = connect("lee")
    before = account_of(lee).access_token
    _critical_event(emulator, http_emulator, "location_changed")
    emulator.emulator.grants.clear()
    profile = graphfns.execute("users.get", {"user_id": "me"}, auth_user=lee)
    assert profile["userPrincipalName"] == "lee@contoso.test"
    assert emulator.emulator.grants["refresh_token"] == 1
    account = account_of(lee)
    assert account.access_token != before and account.status == MicrosoftAccount.Status.ACTIVE


def test_when_the_renewal_cannot_satisfy_the_challenge_the_member_must_sign_in_again_with_the_claims(
        connect: Connect, emulator: Any, http_emulator: Any) -> None:
    lee = connect("lee")
    _critical_event(emulator, http_emulator, "sessions_revoked")
    error = failure("users.get", {"user_id": "me"}, auth_user=lee)
    assert error.code == "SignInRequired" and error.status == 401
    assert error.details["aad_code"] == "AADSTS50173"
    query = parse_qs(urlsplit(error.details["reconnect_url"]).query)
    assert json.loads(query["claims"][0])["access_token"]["nbf"]["essential"] is True
    assert account_of(lee).status == MicrosoftAccount.Status.NEEDS_RECONSENT
