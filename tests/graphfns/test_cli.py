"""manage.py graph list | call | check | catalog."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from graphfns.models import FunctionCall
from graphfns.registry import load
from membership.models import MicrosoftSettings
from tests.support.members import Connect


def graph(*args: str) -> str:
    out = StringIO()
    call_command("graph", *args, stdout=out)
    return out.getvalue()


def test_list_shows_every_function_with_its_modes(db: None) -> None:
    out = graph("list")
    for name in load():
        assert name in out
    assert "delegated+app" in out


def test_call_as_the_application_prints_json(emulator: Any, microsoft: MicrosoftSettings) -> None:
    out = graph("call", "users.get", "--param", "user_id=adele@contoso.test", "--param", 'select=["displayName"]')
    assert json.loads(out)["displayName"] == "Adele Vance"
    log = FunctionCall.objects.get()
    assert (log.caller, log.mode) == ("cli", "application")


def test_call_as_a_member_by_username_or_id(connect: Connect) -> None:
    lee = connect("lee")
    for who in (lee.username, str(lee.pk)):
        out = graph("call", "users.get", "--as", who, "--params-json", '{"user_id": "me"}')
        assert json.loads(out)["userPrincipalName"] == "lee@contoso.test"


def test_a_numeric_value_stays_a_string_where_the_function_wants_one(connect: Connect) -> None:
    lee = connect("lee")
    out = graph("call", "users.get", "--app", "--param", f"user_id={lee.pk}")
    assert json.loads(out)["userPrincipalName"] == "lee@contoso.test"


def test_json_values_are_parsed_and_override_params_json(emulator: Any, microsoft: MicrosoftSettings) -> None:
    out = graph("call", "users.list", "--params-json", '{"limit": 5}', "--param", "limit=2", "--param",
                "all_pages=true")
    assert json.loads(out)["count"] == 2


def test_a_failed_call_names_the_error_code(microsoft: MicrosoftSettings) -> None:
    with pytest.raises(CommandError, match=r"^ValidationError: .*user_id"):
        graph("call", "users.get", "--param", "colour=blue")
    with pytest.raises(CommandError, match=r"^NotFound"):
        graph("call", "users.get", "--param", "user_id=nobody@contoso.test")
    with pytest.raises(CommandError, match=r"^UnknownFunction"):
        graph("call", "users.teleport")
    with pytest.raises(CommandError, match="no platform user"):
        graph("call", "users.get", "--as", "ghost", "--param", "user_id=me")
    with pytest.raises(CommandError, match="KEY=VALUE"):
        graph("call", "users.get", "--param", "user_id")


def test_check_passes_on_a_good_configuration(microsoft: MicrosoftSettings) -> None:
    out = graph("check")
    assert out.count("✔") == 4
    assert "✘" not in out
    assert "works" in out
    assert microsoft.client_secret not in out


def test_check_fails_on_a_wrong_client_secret_and_names_the_fix(microsoft: MicrosoftSettings) -> None:
    microsoft.client_secret = "not-the-secret"
    microsoft.save()
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("graph", "check", stdout=out)
    text = out.getvalue()
    assert "✔ OpenID discovery" in text
    assert "✘ Client secret and application token" in text
    assert "InvalidClientCredentials" in text
    assert "Fix: " in text and "client secret" in text and "Microsoft settings" in text
    assert "not-the-secret" not in text


def test_check_fails_early_when_switched_off(microsoft: MicrosoftSettings) -> None:
    microsoft.enabled = False
    microsoft.save()
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("graph", "check", stdout=out)
    assert out.getvalue().count("✘") == 1
    assert "Enabled" in out.getvalue()


def test_check_fails_on_an_unknown_tenant(microsoft: MicrosoftSettings) -> None:
    microsoft.tenant = "0b7e4a1c-0000-4000-8000-000000000000"
    microsoft.save()
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("graph", "check", stdout=out)
    assert "✘ OpenID discovery" in out.getvalue()
    assert "Tenant" in out.getvalue()


def test_members_lists_ids_and_usernames_for_as_and_auth_user_id(connect: Connect) -> None:
    lee = connect("lee")
    out = graph("members")
    assert f"{lee.pk}  lee@contoso.test" in out
    assert "active" in out


def test_an_unknown_member_says_how_members_come_to_exist(microsoft: MicrosoftSettings) -> None:
    assert "first Sign in with Microsoft" in graph("members")
    with pytest.raises(CommandError, match="after their first Sign in with Microsoft"):
        graph("call", "users.get", "--as", "adele@contoso.test", "--param", "user_id=me")
