"""id_tokens signed here, with the emulator's published key (or another), to test the site's validation."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt

from emulator.server import RunningEmulator
from membership.identity import nonce_hash
from membership.models import MicrosoftSettings

NONCE = "the-nonce-this-flow-sent"
_DROP = object()


def id_token_claims(emulator: RunningEmulator, ms: MicrosoftSettings, **changes: Any) -> dict[str, Any]:
    """A good id_token's claims for the settings' tenant; a change to ``None`` via ``drop=[...]`` removes it."""
    tid = emulator.info["tenant_id"]
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": f"{emulator.base_url}/{tid}/v2.0",
        "aud": ms.client_id,
        "exp": now + 3600,
        "iat": now,
        "nbf": now,
        "tid": tid,
        "oid": str(uuid.uuid4()),
        "sub": "subject",
        "nonce": nonce_hash(NONCE),
        "preferred_username": "someone@example.test",
    }
    for name in changes.pop("drop", ()):
        claims.pop(name)
    claims.update(changes)
    return claims


def sign(emulator: RunningEmulator, claims: dict[str, Any], *, key: Any = None, kid: str | None = None,
         algorithm: str = "RS256") -> str:
    """``claims`` signed with the emulator's key (or ``key``), under its kid (or ``kid``)."""
    signer = emulator.emulator.signer
    # Signed as JSON bytes: pyjwt would refuse to encode the malformed claims some tests need.
    return jwt.api_jws.encode(json.dumps(claims).encode(), signer.private_key if key is None else key,
                              algorithm=algorithm, headers={"kid": signer.kid if kid is None else kid})
