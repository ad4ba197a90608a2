"""Loaded by pytest before Django (``-p tests.environment``): the run gets its own keys.

The developer's .env is not read, so a demo's database or keys never leak into the tests.
"""

from __future__ import annotations

import os
import secrets
import tempfile

from cryptography.fernet import Fernet

os.environ["READ_DOT_ENV"] = "false"
os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# The emulator listens on loopback: it may receive the client secret and members' tokens.
os.environ.setdefault("MICROSOFT_ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="membership-test-var-"))
# The live-server tests speak plain HTTP on loopback; secure-only cookies would be dropped there.
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
# Tests read the call log right after a call; test_call_log.py covers the write-behind mode.
os.environ.setdefault("GRAPH_CALL_LOG_WRITE_BEHIND", "false")
