"""The one HTTP session factory for Microsoft endpoints (identity platform and Graph).

Every session carries the timeout policy itself (MICROSOFT_CONNECT_TIMEOUT, MICROSOFT_READ_TIMEOUT):
MSAL ignores its own ``timeout=`` for a session it is given, so a call without a timeout of its own
(MSAL's token and discovery requests) still gets one here.
"""

from __future__ import annotations

import threading
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

_local = threading.local()


def timeout() -> tuple[float, float]:
    """(connect, read) seconds for one request to Microsoft."""
    return (float(settings.MICROSOFT_CONNECT_TIMEOUT), float(settings.MICROSOFT_READ_TIMEOUT))


def longest_call() -> float:
    """The longest one request to Microsoft can take to fail (connect, then wait for the answer)."""
    connect, read = timeout()
    return connect + read


class MicrosoftSession(requests.Session):
    """A session whose requests time out by the policy unless the caller asks for less."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        policy = timeout()
        asked = kwargs.get("timeout")
        if asked is None:
            kwargs["timeout"] = policy
        else:
            connect, read = asked if isinstance(asked, tuple) else (asked, asked)
            kwargs["timeout"] = (min(connect, policy[0]), min(read, policy[1]))
        return super().request(method, url, *args, **kwargs)


def new_session() -> requests.Session:
    """A pooled session. With MICROSOFT_CA_BUNDLE set (the local emulator) it trusts that CA only.

    requests lets REQUESTS_CA_BUNDLE from the environment override ``Session.verify``; turning
    ``trust_env`` off is the only way to make the configured CA win.
    """
    session = MicrosoftSession()
    ca = settings.MICROSOFT_CA_BUNDLE
    if ca:
        session.trust_env = False
        session.verify = ca
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "membership-platform/1.0"
    return session


def microsoft_session() -> requests.Session:
    """This thread's session (requests sessions are not safe to share between threads)."""
    session = getattr(_local, "session", None)
    ca = settings.MICROSOFT_CA_BUNDLE
    if session is None or getattr(_local, "ca", None) != ca:
        session = _local.session = new_session()
        _local.ca = ca
    return session
