"""Microsoft Graph functions (Users, Calendar) for members and for the application."""

from __future__ import annotations

from typing import Any


def execute(name: str, params: dict[str, Any] | None = None, auth_user: Any = None, **kwargs: Any) -> Any:
    """``graphfns.execute("users.get", {"user_id": "me"}, auth_user=request.user)`` — see graphfns.execution."""
    from graphfns.execution import execute as run

    return run(name, params, auth_user, **kwargs)
