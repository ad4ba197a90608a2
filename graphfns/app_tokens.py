"""The application (client-credentials) token, shared by every process through the Django cache.

One token per (authority, App tenant, client id), stored encrypted in the cache (Redis in
production) and renewed RENEW_MARGIN before it expires under a cross-process lock, so a crowd
of workers makes one token request. "Clear Microsoft functions cache" deletes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

import requests
from django.core.cache import cache
from msal.exceptions import MsalServiceError

from graphfns.errors import CLIENT_CREDENTIAL_MESSAGES, FunctionError, error_for
from graphfns.metrics import APP_TOKEN_RENEWALS
from membership.failures import Reason, SignInFailure, aadsts_codes, aadsts_failure, reason_from_aad, unreachable
from membership.identity import authority_url, msal_app
from membership.lib.encryption import UndecryptableValue, decrypt, encrypt
from membership.lib.http import lock_ttl
from membership.lib.locks import LockTimeout, held
from membership.models import MicrosoftSettings
from membership.scopes import GRAPH_RESOURCE

log = logging.getLogger(__name__)

RENEW_MARGIN = 300  # seconds: renew before Graph could see an expired token
MEMO_SECONDS = 5.0  # how long a process trusts its own copy before looking at the shared cache again
_memo: dict[str, tuple[dict[str, Any], float]] = {}


class AppTokenCache:
    def __init__(self, ms: MicrosoftSettings) -> None:
        self.ms = ms
        identity = f"{authority_url(ms, ms.app_tenant_id)}|{ms.client_id}"
        self.key = "ms:apptoken:" + hashlib.sha256(identity.encode()).hexdigest()[:32]

    def _read(self) -> dict[str, Any] | None:
        try:
            stored = cache.get(self.key)
        except Exception:  # the shared cache (Redis) is down: work on, each process with its own token
            log.warning("Shared cache unavailable; fetching the application token directly")
            return None
        if not stored:
            return None
        try:
            entry = json.loads(decrypt(stored, "the application token cache"))
        except (UndecryptableValue, ValueError):
            return None  # written with a rotated-away key: just fetch a new one
        return entry if entry.get("expires_at", 0) - time.time() > RENEW_MARGIN else None

    def token(self) -> str:
        memo = _memo.get(self.key)
        if memo and time.monotonic() - memo[1] < MEMO_SECONDS and memo[0]["expires_at"] - time.time() > RENEW_MARGIN:
            return str(memo[0]["access_token"])
        entry = self._read()
        if entry:
            _memo[self.key] = (entry, time.monotonic())
            return str(entry["access_token"])
        try:
            with held(self.key, timeout=lock_ttl(), wait=lock_ttl()):
                entry = self._read()  # another process may have renewed it while we waited
                if entry is None:
                    entry = self._renew()
                _memo[self.key] = (entry, time.monotonic())
        except LockTimeout:
            raise FunctionError("UpstreamUnavailable", "Timed out waiting for the application token.") from None
        return str(entry["access_token"])

    def _renew(self) -> dict[str, Any]:
        try:
            entry = self._acquire()
        except FunctionError as exc:
            APP_TOKEN_RENEWALS.labels(exc.code).inc()
            raise
        APP_TOKEN_RENEWALS.labels("renewed").inc()
        return entry

    def _acquire(self) -> dict[str, Any]:
        ms = self.ms
        if not ms.app_tenant_id:
            raise FunctionError("TenantNotFound", "No App tenant ID is set. Enter the Directory (tenant) ID in the "
                                "Microsoft settings to make application calls.")
        try:
            result = msal_app(ms, ms.app_tenant_id).acquire_token_for_client(scopes=[f"{GRAPH_RESOURCE}/.default"])
        except SignInFailure as failure:  # building the MSAL app: discovery, or an unreadable secret or key
            raise error_for(failure.reason or Reason.UNAVAILABLE, host=failure.host) from None
        except (requests.RequestException, MsalServiceError) as exc:
            no_answer = unreachable(exc, "token endpoint")
            raise error_for(no_answer.reason or Reason.UNAVAILABLE, host=no_answer.host) from None
        if "access_token" not in result:
            raise app_token_failure(result)
        entry = {"access_token": result["access_token"], "expires_at": time.time() + int(result.get("expires_in", 0))}
        ttl = max(1, int(result.get("expires_in", 0)) - RENEW_MARGIN)
        try:
            cache.set(self.key, encrypt(json.dumps(entry)), ttl)
        except Exception:  # see _read: the token still serves this process
            log.warning("Shared cache unavailable; the application token is kept in this process only")
        return entry

    def clear(self) -> bool:
        """Forget the token everywhere: other processes stop using theirs within MEMO_SECONDS."""
        _memo.pop(self.key, None)
        try:
            return bool(cache.delete(self.key))
        except Exception:
            log.warning("Shared cache unavailable; the application token was forgotten in this process only")
            return False


def app_token_failure(result: dict[str, Any]) -> FunctionError:
    codes = aadsts_codes(result)
    aad = f"AADSTS{codes[0]}" if codes else str(result.get("error", ""))
    if aadsts_failure(result) == "admin_consent_required":
        # The app (or its service principal) is not in the App tenant: an administrator must consent.
        return FunctionError("Authorization_IdentityNotFound", aad_code=aad)
    reason = reason_from_aad(result)
    if reason is Reason.CLIENT_CREDENTIALS:
        message = next((CLIENT_CREDENTIAL_MESSAGES[c] for c in codes if c in CLIENT_CREDENTIAL_MESSAGES), None)
        return error_for(reason, message, aad_code=aad)
    if reason is Reason.TENANT:
        return error_for(reason, aad_code=aad)
    return FunctionError("UpstreamUnavailable", f"Microsoft did not issue an application token ({aad}).", aad_code=aad)


def clear_app_token_cache() -> bool:
    """Forget the cached application token ("Clear Microsoft functions cache")."""
    ms = MicrosoftSettings.current()
    return AppTokenCache(ms).clear()
