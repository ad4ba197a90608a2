"""Graph requests straight to the emulator, with access tokens it signed."""

from __future__ import annotations

from typing import Any

import requests

from emulator.server import RunningEmulator


def graph_token(emulator: RunningEmulator, upn: str | None, scopes: tuple[str, ...] = (), roles: tuple[str, ...] = (),
                domain: str = "contoso.test") -> str:
    """A Graph access token the emulator signed: delegated for ``upn``, else app-only with ``roles``."""
    tenant = emulator.emulator.tenant(domain)
    assert tenant is not None
    app = emulator.info["client_id"]
    if upn is None:
        return emulator.emulator.issue_access_token(tenant["id"], app, roles=list(roles))[0]
    user = emulator.emulator.user(tenant, upn)
    assert user is not None
    return emulator.emulator.issue_access_token(tenant["id"], app, user=user, scopes=list(scopes))[0]


def graph_call(http: requests.Session, emulator: RunningEmulator, method: str, path: str, token: str,
               json: Any = None, **headers: str) -> requests.Response:
    """A Graph request (``path`` under /v1.0, or an absolute nextLink) with ``token``."""
    url = path if path.startswith("https://") else f"{emulator.base_url}/v1.0{path}"
    return http.request(method, url, json=json, headers={"Authorization": f"Bearer {token}", **headers})
