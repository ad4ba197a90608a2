"""Each validation rule of the Microsoft settings, with good and bad values."""

from __future__ import annotations

from typing import Any

import pytest

from membership.forms import SignInModeForm
from membership.models import MicrosoftSettings, SignInMode
from tests.support.settings import GUID, errors, settings_form

pytestmark = pytest.mark.django_db


def test_a_complete_form_is_valid() -> None:
    form = settings_form(app_tenant_id=GUID, client_secret="x", enabled="on")
    assert form.is_valid(), form.errors


def test_the_app_tenant_id_must_be_a_guid() -> None:
    assert "is not a GUID" in errors(settings_form(app_tenant_id="contoso.com"), "app_tenant_id")
    assert "is not a GUID" in errors(settings_form(app_tenant_id=GUID[:-1]), "app_tenant_id")
    form = settings_form(app_tenant_id=GUID.upper())
    assert form.is_valid()
    form.save()
    assert MicrosoftSettings.load().app_tenant_id == GUID


@pytest.mark.parametrize("tenant", ["common", "organizations", "consumers", GUID, "contoso.com", "contoso.onmicrosoft.com"])
def test_tenant_accepts_the_keywords_a_guid_or_a_domain(tenant: str) -> None:
    assert settings_form(tenant=tenant).is_valid()


@pytest.mark.parametrize("tenant", ["everyone", "contoso", "not a domain.com", "72f988bf-86f1"])
def test_tenant_rejects_anything_else(tenant: str) -> None:
    assert "is not a tenant" in errors(settings_form(tenant=tenant), "tenant")


def test_allowed_tenant_ids_must_be_guids_and_are_normalised() -> None:
    assert "Not a tenant ID" in errors(settings_form(allowed_tenant_ids=f"{GUID}\nfabrikam.com"), "allowed_tenant_ids")
    form = settings_form(allowed_tenant_ids=f"{GUID}, {GUID}")
    assert form.is_valid()
    assert form.cleaned_data["allowed_tenant_ids"] == GUID


def test_scopes_are_normalised_and_reserved_ones_removed_with_a_note() -> None:
    form = settings_form(default_scopes="User.Read,openid\nCalendars.Read user.read")
    assert form.is_valid()
    assert form.cleaned_data["default_scopes"] == "User.Read Calendars.Read"
    assert form.notes == ["Removed openid from Default scopes: Microsoft sign-in always requests them."]


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        ("User Read!", "not a valid scope name"),
        ("User.Read api://11111111-2222-3333-4444-555555555555/x.y", "different resources"),
    ],
)
def test_malformed_scopes_and_mixed_resources_are_rejected(scopes: str, message: str) -> None:
    assert message in errors(settings_form(default_scopes=scopes), "default_scopes")


@pytest.mark.parametrize("field", ["callback_url", "logout_url", "failure_url"])
def test_urls_must_be_absolute_http_urls(field: str) -> None:
    assert "absolute http(s) URL" in errors(settings_form(**{field: "/welcome/"}), field)
    assert "absolute http(s) URL" in errors(settings_form(**{field: "javascript:alert(1)"}), field)
    assert settings_form(**{field: "https://example.org/welcome/"}).is_valid()


def test_enabling_requires_client_id_and_secret() -> None:
    form = settings_form(enabled="on", client_id="")
    assert not form.is_valid()
    assert "Application (client) ID" in str(form.non_field_errors())
    assert "Client secret" in str(form.non_field_errors())


def mode_form(**changes: Any) -> SignInModeForm:
    MicrosoftSettings.load()
    data = {"settings": 1, "name": "dev", "enabled": "on", "override_default_scopes": "", "scopes": "Calendars.ReadWrite"}
    data.update(changes)
    return SignInModeForm(data=data)


def test_mode_names_are_slugs() -> None:
    assert "slug" in errors(mode_form(name="dev mode!"), "name").lower() or "letters" in errors(mode_form(name="dev mode!"), "name")
    assert mode_form(name="dev_2").is_valid()


def test_mode_names_are_unique() -> None:
    SignInMode.objects.create(settings=MicrosoftSettings.load(), name="dev")
    assert "already exists" in errors(mode_form(name="dev"), "name")


def test_a_mode_that_overrides_needs_its_own_scopes() -> None:
    assert "list the scopes" in errors(mode_form(override_default_scopes="on", scopes=""), "scopes")


def test_mode_scopes_are_validated_like_default_scopes() -> None:
    assert "not a valid scope name" in errors(mode_form(scopes="Calendars Read!"), "scopes")
    form = mode_form(scopes="offline_access Calendars.ReadWrite")
    assert form.is_valid()
    assert form.cleaned_data["scopes"] == "Calendars.ReadWrite"


def test_model_save_normalises_scopes_even_outside_forms() -> None:
    obj = MicrosoftSettings(default_scopes="user.read, User.Read\nopenid")
    obj.save()
    obj.refresh_from_db()
    assert obj.default_scopes == "user.read"
    assert obj.pk == 1


def test_the_secret_expiry_warning_starts_30_days_before() -> None:
    from datetime import date

    obj = MicrosoftSettings(client_secret_expires_on=date(2026, 3, 1))
    assert obj.secret_expiry_warning(today=date(2026, 1, 1)) == ""
    assert "expires in 29 days" in obj.secret_expiry_warning(today=date(2026, 1, 31))
    assert "expired on 01 Mar 2026" in obj.secret_expiry_warning(today=date(2026, 3, 2))
