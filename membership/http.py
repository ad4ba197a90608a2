"""The one HTTP session factory for Microsoft endpoints (identity platform and Graph)."""

from __future__ import annotations

import threading

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

_local = threading.local()
TIMEOUT = (5, 30)  # connect, read (seconds)


def new_session() -> requests.Session:
    """A pooled session. With MICROSOFT_CA_BUNDLE set (the local emulator) it trusts that CA only.

    requests lets REQUESTS_CA_BUNDLE from the environment override ``Session.verify``; turning
    ``trust_env`` off is the only way to make the configured CA win.
    """
    session = requests.Session()
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
