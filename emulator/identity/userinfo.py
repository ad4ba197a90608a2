"""OpenID Connect's UserInfo endpoint, which Entra serves on Graph's host with a Graph access token."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.graph.api import GRAPH_ROOT, GraphError, ok
from emulator.graph.auth import authenticate
from emulator.graph.errors import graph_error
from emulator.identity.model import pairwise_sub
from emulator.routing import Request, Response, route

if TYPE_CHECKING:
    from emulator.app import Emulator


def userinfo(emu: Emulator, req: Request) -> Response:
    """The signed-in user's claims; ``sub`` is the same pairwise value their id_token carries."""
    try:
        caller = authenticate(emu, req)
        if caller.user is None:
            raise GraphError(401, "InvalidAuthenticationToken", "UserInfo needs a token issued to a signed-in user.")
    except GraphError as exc:
        return graph_error(emu, req, exc.status, exc.code, exc.message, exc.headers)
    user = caller.user
    body = {"sub": pairwise_sub(user["id"], str(caller.claims.get("appid", ""))), "name": user.get("displayName"),
            "family_name": user.get("surname"), "given_name": user.get("givenName"),
            "picture": f"{GRAPH_ROOT}/me/photo/$value"}
    if user.get("mail"):
        body["email"] = user["mail"]
    return ok(req, body)


route("GET", "/oidc/userinfo")(userinfo)
route("POST", "/oidc/userinfo")(userinfo)
