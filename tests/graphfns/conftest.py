"""Graph-function tests use the shared fixtures of tests/conftest.py (``connect`` among them)."""

from tests.conftest import Connect, account_of

__all__ = ["Connect", "account_of"]
