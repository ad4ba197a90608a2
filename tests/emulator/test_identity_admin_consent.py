"""The v2.0 admin consent endpoint."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.support.browser import APP_REDIRECT, Browser


@pytest.fixture
def browser(emulator, http_emulator):
    return Browser(http_emulator, emulator.base_url)


def _url(emulator, tenant, **params):
    query = {"client_id": emulator.info["client_id"], "redirect_uri": APP_REDIRECT, "state": "ac-1",
             "scope": "https://graph.microsoft.com/.default", **params}
    return f"{emulator.base_url}/{tenant}/v2.0/adminconsent?{urlencode(query)}"


def _client_credentials(emulator, http_emulator, tenant):
    return http_emulator.post(f"{emulator.base_url}/{tenant}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
        "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"]})


def test_an_admin_of_another_tenant_consents_and_the_app_gets_app_roles_there(emulator, browser, http_emulator):
    fabrikam = emulator.info["second_tenant_id"]
    assert _client_credentials(emulator, http_emulator, fabrikam).json()["error_codes"] == [700016]
    consent = browser.press(browser.open(_url(emulator, "organizations")), "Sign in as Fiona Ortiz")
    assert "Permissions requested" in consent.html and "your organization" in consent.html
    done = browser.press(consent, "Accept")
    assert done.callback == {"admin_consent": "True", "tenant": fabrikam,
                             "scope": "https://graph.microsoft.com/.default", "state": "ac-1"}
    token = _client_credentials(emulator, http_emulator, fabrikam)
    assert token.status_code == 200
    app = emulator.emulator.state["apps"][0]
    assert set(app["app_roles"][fabrikam]) == set(app["app_roles"][emulator.info["tenant_id"]])
    # Tenant-wide delegated consent now covers Gus without a consent page.
    assert "User.Read" in app["delegated_admin_consent"][fabrikam]


def test_a_non_admin_cannot_grant_admin_consent(emulator, browser):
    page = browser.press(browser.open(_url(emulator, emulator.info["second_tenant_id"])), "Sign in as Gus Hartley")
    assert "Need admin approval" in page.html
    cb = browser.press(page, "Return to the application without granting consent").callback
    assert cb["error"] == "access_denied" and cb["error_description"].startswith("AADSTS90094:")
    assert cb["state"] == "ac-1" and cb["admin_consent"] == "False"


def test_declining_admin_consent_is_access_denied(emulator, browser):
    consent = browser.press(browser.open(_url(emulator, emulator.info["tenant_id"])), "Sign in as Adele Vance")
    cb = browser.press(consent, "Decline").callback
    assert cb["error"] == "access_denied" and cb["error_subcode"] == "cancel"
    assert cb["error_description"].startswith("AADSTS65004:")


def test_admin_consent_for_named_scopes_grants_them_tenant_wide(emulator, browser):
    url = _url(emulator, emulator.info["tenant_id"], scope="https://graph.microsoft.com/Directory.Read.All")
    browser.press(browser.press(browser.open(url), "Sign in as Adele Vance"), "Accept")
    app = emulator.emulator.state["apps"][0]
    assert "Directory.Read.All" in app["delegated_admin_consent"][emulator.info["tenant_id"]]


def test_admin_consent_with_auto_approve_uses_the_first_admin(emulator, browser, http_emulator):
    emulator.emulator.auto_approve = True
    step = browser.open(_url(emulator, emulator.info["second_tenant_id"]))
    assert step.at_app and step.callback["admin_consent"] == "True"
    assert _client_credentials(emulator, http_emulator, emulator.info["second_tenant_id"]).status_code == 200


def test_admin_consent_rejects_a_foreign_redirect_uri(emulator, browser):
    step = browser.open(_url(emulator, "organizations", redirect_uri="https://evil.test/"))
    assert step.response.status_code == 400 and "AADSTS50011" in step.html


def test_admin_consent_for_a_single_tenant_app_in_another_tenant_is_aadsts700016(emulator, browser):
    single = emulator.emulator.state["apps"][1]["client_id"]
    step = browser.open(_url(emulator, emulator.info["second_tenant_id"], client_id=single))
    assert "AADSTS700016" in step.html
