"""Graph-function tests use the shared fixtures of tests/conftest.py (``connect`` among them)."""

from typing import Any

import pytest

import graphfns
from graphfns.errors import FunctionError
from tests.conftest import Connect, account_of

__all__ = ["Connect", "account_of", "failure", "graph_calls"]


def failure(name: str, params: dict[str, Any], auth_user: Any = None) -> FunctionError:
    """The catalog error ``graphfns.execute`` raises for this call (fails the test if none)."""
    with pytest.raises(FunctionError) as excinfo:
        graphfns.execute(name, params, auth_user=auth_user)
    return excinfo.value


def graph_calls(emulator: Any) -> int:
    """How many Graph requests the emulator has seen."""
    return sum(n for key, n in emulator.emulator.requests.items() if " /v1.0" in key or "(unmatched)" in key)
