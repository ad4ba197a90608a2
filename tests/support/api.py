"""Calling graph functions in tests: the HTTP API, ``graphfns.execute``'s errors, the emulator's Graph count."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

import graphfns
from graphfns.errors import FunctionError


def post(client: Client, url: str, body: Any = None, key: str | None = None, **extra: Any) -> Any:
    data = body if isinstance(body, str | bytes) else json.dumps(body if body is not None else {})
    if key:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client.post(url, data=data, content_type="application/json", **extra)


def failure(name: str, params: dict[str, Any], auth_user: Any = None) -> FunctionError:
    """The catalog error ``graphfns.execute`` raises for this call (fails the test if none)."""
    with pytest.raises(FunctionError) as excinfo:
        graphfns.execute(name, params, auth_user=auth_user)
    return excinfo.value


def graph_calls(emulator: Any) -> int:
    """How many Graph requests the emulator has seen."""
    return sum(n for key, n in emulator.emulator.requests.items() if " /v1.0" in key or "(unmatched)" in key)
