"""The authorize endpoint and its pages, followed with requests like a browser would."""

from __future__ import annotations

import jwt
import pytest

from tests.support.browser import APP_REDIRECT, Browser, authorize_url, button_texts, forms

REDIRECT = APP_REDIRECT


@pytest.fixture
def browser(emulator, http_emulator):
    return Browser(http_emulator, emulator.base_url)


def _url(emulator, tenant=None, **params):
    return authorize_url(emulator.base_url, tenant or emulator.info["tenant_id"], emulator.info["client_id"], **params)


def _flow(msal_client, scopes, **kw):
    return msal_client.initiate_auth_code_flow(scopes, redirect_uri=REDIRECT, **kw)


def _scp(result):
    return set(jwt.decode(result["access_token"], options={"verify_signature": False})["scp"].split())


def test_a_user_signs_in_consents_and_msal_redeems_the_code(emulator, browser, msal_client):
    flow = _flow(msal_client, ["User.Read", "Calendars.Read"])
    page = browser.open(flow["auth_uri"])
    assert "Sign in as Alex Wilber" in button_texts(page.html)
    consent = browser.press(page, "Sign in as Alex Wilber")
    assert "Permissions requested" in consent.html and "Calendars.Read" in consent.html
    assert {"Accept", "Decline"} <= set(button_texts(consent.html))
    done = browser.press(consent, "Accept")
    assert done.at_app and done.callback["state"] == flow["state"]
    result = msal_client.acquire_token_by_auth_code_flow(flow, done.callback)
    assert "access_token" in result, result
    assert {"User.Read", "Calendars.Read"} <= _scp(result)
    assert result["id_token_claims"]["preferred_username"] == "alex@contoso.test"
    assert result["refresh_token"]


def test_consent_given_once_is_not_asked_for_again(emulator, browser, msal_client):
    first = browser.open(_flow(msal_client, ["Calendars.Read"])["auth_uri"])
    browser.press(browser.press(first, "Sign in as Alex Wilber"), "Accept")
    again = browser.press(browser.open(_flow(msal_client, ["Calendars.Read"])["auth_uri"]), "Sign in as Alex Wilber")
    assert again.at_app and "code" in again.callback
    consent = emulator.emulator.state["apps"][0]["delegated_user_consent"][emulator.info["tenant_id"]]
    assert "Calendars.Read" in consent[emulator.emulator.user(emulator.emulator.tenant(emulator.info["tenant_id"]), "alex@contoso.test")["id"]]


def test_admin_consented_scopes_need_no_consent_page(emulator, browser):
    step = browser.press(browser.open(_url(emulator, scope="openid User.Read Calendars.ReadWrite")), "Sign in as Diego Siciliani")
    assert step.at_app and step.callback["code"]


def test_prompt_consent_shows_the_consent_page_even_when_consented(emulator, browser):
    step = browser.press(browser.open(_url(emulator, prompt="consent")), "Sign in as Diego Siciliani")
    assert "Permissions requested" in step.html


def test_declining_consent_returns_access_denied_with_aadsts65004(emulator, browser):
    consent = browser.press(browser.open(_url(emulator, scope="openid Calendars.Read")), "Sign in as Alex Wilber")
    step = browser.press(consent, "Decline")
    cb = step.callback
    assert cb["error"] == "access_denied"
    assert cb["error_subcode"] == "cancel"
    assert cb["error_description"].startswith("AADSTS65004: User declined to consent")
    assert cb["state"] == "st-1"
    assert "code" not in cb


def test_a_non_admin_asking_for_admin_only_scopes_sees_need_admin_approval(emulator, browser):
    page = browser.press(browser.open(_url(emulator, scope="openid User.Read.All")), "Sign in as Alex Wilber")
    assert "Need admin approval" in page.html and "User.Read.All" in page.html
    step = browser.press(page, "Return to the application without granting consent")
    assert step.callback["error"] == "access_denied"
    assert step.callback["error_description"].startswith("AADSTS65001:")
    assert step.callback["state"] == "st-1"


def test_a_user_administrator_cannot_grant_admin_only_scopes(emulator, browser):
    page = browser.press(browser.open(_url(emulator, scope="openid Directory.Read.All")), "Sign in as Megan Bowen")
    assert "Need admin approval" in page.html


def test_from_need_admin_approval_an_admin_can_sign_in_and_consent_for_everyone(emulator, browser):
    page = browser.press(browser.open(_url(emulator, scope="openid User.Read.All")), "Sign in as Alex Wilber")
    picker = browser.press(page, "Sign in with an admin account")
    consent = browser.press(picker, "Sign in as Adele Vance")
    assert "Consent on behalf of your organization" in consent.html
    done = browser.press(consent, "Accept", check=("org_consent",))
    assert done.at_app and done.callback["code"]
    alex = browser.press(browser.open(_url(emulator, scope="openid User.Read.All")), "Sign in as Alex Wilber")
    assert alex.at_app and "code" in alex.callback


def test_an_unknown_client_gets_an_error_page_not_a_redirect(emulator, browser):
    step = browser.open(authorize_url(emulator.base_url, emulator.info["tenant_id"], "11111111-2222-3333-4444-555555555555"))
    assert step.response.status_code == 400 and not step.response.is_redirect
    assert "AADSTS700016" in step.html


def test_a_redirect_uri_mismatch_gets_an_error_page_with_aadsts50011(emulator, browser):
    step = browser.open(_url(emulator, redirect_uri="https://evil.test/callback"))
    assert step.response.status_code == 400 and "location" not in step.response.headers
    assert "AADSTS50011" in step.html and "https://evil.test/callback" in step.html


def test_the_port_of_a_localhost_redirect_uri_is_ignored(emulator, browser):
    uri = "http://localhost:51234/auth/microsoft/callback/"
    step = browser.press(browser.open(_url(emulator, redirect_uri=uri, scope="openid User.Read")), "Sign in as Diego Siciliani")
    assert step.response.headers["location"].startswith(uri + "?code=")
    other_path = browser.open(_url(emulator, redirect_uri="http://localhost:51234/elsewhere/"))
    assert "AADSTS50011" in other_path.html


@pytest.mark.parametrize("meta", ["common", "organizations"])
def test_a_single_tenant_app_on_a_multi_tenant_endpoint_gets_aadsts50194(emulator, browser, meta):
    single = emulator.emulator.state["apps"][1]["client_id"]
    step = browser.open(authorize_url(emulator.base_url, meta, single))
    assert step.response.status_code == 400 and "AADSTS50194" in step.html


def test_an_unknown_tenant_gets_an_error_page_with_aadsts90002(emulator, browser):
    step = browser.open(_url(emulator, tenant="unknown.example"))
    assert step.response.status_code == 400 and "AADSTS90002" in step.html


def test_an_unknown_scope_is_redirected_as_invalid_scope(emulator, browser):
    step = browser.open(_url(emulator, scope="openid Mail.Send.Everything"))
    assert step.callback["error"] == "invalid_scope"
    assert step.callback["error_description"].startswith("AADSTS70011:")
    assert step.callback["state"] == "st-1"


def test_a_scope_for_another_resource_is_rejected(emulator, browser):
    step = browser.open(_url(emulator, scope="https://storage.azure.com/user_impersonation"))
    assert step.callback["error"] == "invalid_scope"


def test_a_missing_scope_is_an_invalid_request_with_aadsts900144(emulator, http_emulator):
    url = authorize_url(emulator.base_url, emulator.info["tenant_id"], emulator.info["client_id"], scope="")
    cb = Browser(http_emulator, emulator.base_url).open(url).callback
    assert cb["error"] == "invalid_request" and cb["error_description"].startswith("AADSTS900144:")


def test_an_implicit_response_type_is_unsupported(emulator, browser):
    step = browser.open(_url(emulator, response_type="token"))
    assert step.callback["error"] == "unsupported_response_type"


def test_form_post_returns_an_auto_submitting_form_to_the_redirect_uri(emulator, browser, msal_client):
    flow = _flow(msal_client, ["User.Read"], response_mode="form_post")
    step = browser.press(browser.open(flow["auth_uri"]), "Sign in as Diego Siciliani")
    assert step.response.status_code == 200 and not step.at_app
    (form,) = forms(step.html)
    assert form.method == "post" and form.action == REDIRECT
    assert "document.forms[0].submit()" in step.html
    assert set(form.fields) >= {"code", "state", "client_info"}
    result = msal_client.acquire_token_by_auth_code_flow(flow, step.callback)
    assert "access_token" in result, result


def test_form_post_also_carries_errors(emulator, browser):
    step = browser.open(_url(emulator, response_mode="form_post", scope="openid Nope.Nothing"))
    (form,) = forms(step.html)
    assert form.fields["error"] == "invalid_scope" and form.fields["state"] == "st-1"


def test_prompt_none_without_a_session_is_login_required(emulator, browser):
    cb = browser.open(_url(emulator, prompt="none")).callback
    assert cb["error"] == "login_required" and cb["error_description"].startswith("AADSTS50058:")


def test_prompt_none_with_a_session_signs_in_silently(emulator, browser):
    browser.press(browser.open(_url(emulator)), "Sign in as Diego Siciliani")
    step = browser.open(_url(emulator, prompt="none"))
    assert step.at_app and "code" in step.callback


def test_prompt_none_when_consent_is_missing_is_consent_required(emulator, browser):
    browser.press(browser.open(_url(emulator)), "Sign in as Diego Siciliani")
    cb = browser.open(_url(emulator, prompt="none", scope="openid Calendars.Read")).callback
    assert cb["error"] == "consent_required" and cb["error_description"].startswith("AADSTS65001:")


def test_logout_ends_the_session_and_redirects(emulator, browser, http_emulator):
    browser.press(browser.open(_url(emulator)), "Sign in as Diego Siciliani")
    out = http_emulator.get(f"{emulator.base_url}/common/oauth2/v2.0/logout",
                   params={"post_logout_redirect_uri": "http://localhost:8000/"}, allow_redirects=False)
    assert out.status_code == 302 and out.headers["location"] == "http://localhost:8000/"
    assert browser.open(_url(emulator, prompt="none")).callback["error"] == "login_required"
    page = http_emulator.get(f"{emulator.base_url}/common/oauth2/v2.0/logout")
    assert page.status_code == 200 and "signed out" in page.text


def test_login_hint_puts_the_hinted_account_first(emulator, browser):
    page = browser.open(_url(emulator, login_hint="nestor@contoso.test"))
    assert button_texts(page.html)[0] == "Sign in as Nestor Wilke"


def test_common_lists_every_tenants_users_and_signs_in_a_fabrikam_user(emulator, browser, http_emulator, msal_client):
    page = browser.open(_url(emulator, tenant="common", scope="openid User.Read"))
    labels = button_texts(page.html)
    assert "Sign in as Adele Vance" in labels and "Sign in as Fiona Ortiz" in labels
    consent = browser.press(page, "Sign in as Gus Hartley")
    done = browser.press(consent, "Accept")
    assert done.at_app
    resp = http_emulator.post(f"{emulator.base_url}/common/oauth2/v2.0/token", data={
        "grant_type": "authorization_code", "code": done.callback["code"], "redirect_uri": REDIRECT,
        "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"]})
    claims = jwt.decode(resp.json()["access_token"], options={"verify_signature": False})
    assert claims["tid"] == emulator.info["second_tenant_id"]


def test_domain_hint_narrows_the_picker_to_that_tenant(emulator, browser):
    labels = button_texts(browser.open(_url(emulator, tenant="organizations", domain_hint="fabrikam.test")).html)
    assert labels and all(name in {"Sign in as Fiona Ortiz", "Sign in as Gus Hartley", "Sign in as Hana Sato"}
                          for name in labels)


def test_a_tenant_endpoint_lists_only_its_own_users(emulator, browser):
    labels = button_texts(browser.open(_url(emulator)).html)
    assert len(labels) == 13 and "Sign in as Fiona Ortiz" not in labels


def test_auto_approve_skips_the_pages_and_signs_in_the_hinted_user(emulator, browser, msal_client):
    emulator.emulator.auto_approve = True
    flow = _flow(msal_client, ["Calendars.Read"], login_hint="grady@contoso.test")
    step = browser.open(flow["auth_uri"])
    assert step.at_app
    result = msal_client.acquire_token_by_auth_code_flow(flow, step.callback)
    assert result["id_token_claims"]["preferred_username"] == "grady@contoso.test"
    assert "Calendars.Read" in _scp(result)


def test_auto_approve_without_a_hint_signs_in_the_first_seeded_user(emulator, browser, msal_client):
    emulator.emulator.auto_approve = True
    flow = _flow(msal_client, ["User.Read"])
    result = msal_client.acquire_token_by_auth_code_flow(flow, browser.open(flow["auth_uri"]).callback)
    assert result["id_token_claims"]["preferred_username"] == "adele@contoso.test"


def test_auto_approve_with_an_unknown_hint_redirects_an_error(emulator, browser):
    emulator.emulator.auto_approve = True
    cb = browser.open(_url(emulator, login_hint="nobody@contoso.test")).callback
    assert cb["error"] == "invalid_request" and "AADSTS50034" in cb["error_description"]


def test_a_stale_flow_id_gets_an_error_page(emulator, http_emulator):
    resp = http_emulator.post(f"{emulator.base_url}/common/oauth2/v2.0/login", data={"flow": "nope", "user": "x:y"})
    assert resp.status_code == 400 and "AADSTS50089" in resp.text
