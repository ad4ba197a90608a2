"""The one HTTP session factory for Microsoft endpoints (identity platform and Graph).

Every session carries the timeout policy itself (MICROSOFT_CONNECT_TIMEOUT, MICROSOFT_READ_TIMEOUT):
MSAL ignores its own ``timeout=`` for a session it is given, so a call without a timeout of its own
(MSAL's token and discovery requests) still gets one here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from membership.conf import conf

_local = threading.local()
_deadline: ContextVar[float | None] = ContextVar("microsoft_deadline", default=None)


def timeout() -> tuple[float, float]:
    """(connect, read) seconds for one request to Microsoft."""
    return (conf.MICROSOFT_CONNECT_TIMEOUT, conf.MICROSOFT_READ_TIMEOUT)


def longest_call() -> float:
    """The longest one request to Microsoft can take to fail (connect, then wait for the answer)."""
    connect, read = timeout()
    return connect + read


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bound everything said to Microsoft inside the block (a page that must not stall): each
    request's timeouts are cut to the time left, and none starts once it has run out."""
    ends = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(ends if outer is None else min(outer, ends))
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds left before the innermost ``deadline`` block ends, or None outside one."""
    ends = _deadline.get()
    return None if ends is None else ends - time.monotonic()


def lock_ttl(calls: int = 2) -> float:
    """The expiry of a lock held across ``calls`` requests to Microsoft (and how long to queue for
    it): longer than those requests can take, so it never lapses under its holder. Two covers
    OpenID discovery (when an MSAL app is first built) plus a token request."""
    return calls * longest_call() + 10


class MicrosoftSession(requests.Session):
    """A session whose requests time out by the policy, or sooner when the caller or a
    ``deadline`` block asks for less."""

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        connect, read = timeout()
        asked = kwargs.get("timeout")
        if asked is not None:
            asked_connect, asked_read = asked if isinstance(asked, tuple) else (asked, asked)
            connect, read = min(connect, asked_connect), min(read, asked_read)
        left = time_left()
        if left is not None:
            if left <= 0:
                raise requests.Timeout("The deadline for talking to Microsoft has passed.")
            connect, read = min(connect, left), min(read, left)
        kwargs["timeout"] = (connect, read)
        return super().request(method, url, *args, **kwargs)


def new_session() -> requests.Session:
    """A pooled session. With MICROSOFT_CA_BUNDLE set (the local emulator) it trusts that CA only.

    requests lets REQUESTS_CA_BUNDLE from the environment override ``Session.verify``; turning
    ``trust_env`` off is the only way to make the configured CA win.
    """
    session = MicrosoftSession()
    ca = conf.MICROSOFT_CA_BUNDLE
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
    ca = conf.MICROSOFT_CA_BUNDLE
    if session is None or getattr(_local, "ca", None) != ca:
        session = _local.session = new_session()
        _local.ca = ca
    return session
