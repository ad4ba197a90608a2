"""Microsoft Graph functions (Users, Calendar) for members and for the application.

``graphfns.execute("users.get", {"user_id": "me"}, auth_user=request.user)`` runs one: it is
``graphfns.execution.execute``, the one entry point (imported on first use, once Django is set up).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "execute":
        from graphfns.execution import execute

        return execute
    raise AttributeError(f"module 'graphfns' has no attribute {name!r}")
