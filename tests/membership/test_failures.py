"""The one place that turns Microsoft's answers and transport errors into reasons and codes."""

from __future__ import annotations

import pytest
import requests

from membership.failures import Reason, SignInFailure, failure_from_aad, reason_from_aad, unreachable


@pytest.mark.parametrize(("answer", "reason"), [
    ({"error": "invalid_grant", "error_codes": [700082]}, Reason.RECONSENT),
    ({"error": "invalid_grant"}, Reason.RECONSENT),
    ({"error": "interaction_required", "error_codes": [50076]}, Reason.RECONSENT),
    ({"error": "invalid_client", "error_codes": [7000215]}, Reason.CLIENT_CREDENTIALS),
    ({"error": "invalid_request", "error_description": "AADSTS7000222: The provided client secret keys are expired."},
     Reason.CLIENT_CREDENTIALS),
    ({"error": "invalid_request", "error_codes": [90002]}, Reason.TENANT),
    ({"error": "temporarily_unavailable"}, Reason.UNAVAILABLE),
    ({"error": "server_error", "error_codes": [50000]}, Reason.UNAVAILABLE),
    # The app is gone from the member's tenant, or an administrator must consent: reconnecting asks again.
    ({"error": "unauthorized_client", "error_codes": [700016]}, Reason.RECONSENT),
    ({"error": "invalid_grant", "error_codes": [90094]}, Reason.RECONSENT),
])
def test_entra_answers_map_to_one_reason(answer: dict[str, object], reason: Reason) -> None:
    assert reason_from_aad(answer) is reason


@pytest.mark.parametrize(("answer", "code", "reason"), [
    ({"error": "access_denied", "error_description": "AADSTS53003: Access has been blocked"},
     "conditional_access_blocked", Reason.RECONSENT),
    ({"error": "interaction_required", "error_codes": [50076]}, "interaction_required", Reason.RECONSENT),
    ({"error": "unauthorized_client", "error_codes": [700016]}, "admin_consent_required", Reason.RECONSENT),
    ({"error": "invalid_request", "error_codes": [900023]}, "tenant_not_found", Reason.TENANT),
    ({"error": "invalid_client", "error_codes": [7000218]}, "invalid_client", Reason.CLIENT_CREDENTIALS),
])
def test_a_sign_in_and_a_renewal_read_an_aadsts_code_alike(answer: dict[str, object], code: str,
                                                          reason: Reason) -> None:
    failure = failure_from_aad(answer)
    assert (failure.code, failure.reason) == (code, reason)
    assert reason_from_aad(answer) is reason


def test_only_reconsent_is_permanent_and_only_outages_are_transient() -> None:
    assert [r for r in Reason if r.permanent] == [Reason.RECONSENT]
    assert {r for r in Reason if r.transient} == {Reason.UNAVAILABLE, Reason.TIMEOUT}


@pytest.mark.parametrize(("exc", "reason"), [
    (requests.ConnectTimeout(), Reason.TIMEOUT),
    (requests.ReadTimeout(), Reason.TIMEOUT),
    (requests.ConnectionError(), Reason.UNAVAILABLE),
])
def test_transport_failures_are_transient_reasons(exc: Exception, reason: Reason) -> None:
    failure = unreachable(exc, "token endpoint")
    assert failure.reason is reason and failure.status == 503


def test_text_from_the_browser_never_becomes_the_shown_detail() -> None:
    lure = "Your account is locked. Call 555-0100"
    assert failure_from_aad({"error": lure}).detail == ""
    assert failure_from_aad({"error": "access_denied"}).detail == "access_denied"
    assert failure_from_aad({"error": lure, "error_description": f"AADSTS50053: {lure}"}).detail == "AADSTS50053"
    assert SignInFailure("access_token_failed", lure).shown_detail == ""
    assert SignInFailure("access_token_failed", "AADSTS50053").shown_detail == "AADSTS50053"
