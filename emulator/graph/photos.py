"""Profile photos: metadata and ``$value`` bytes, a small PNG generated per user in code."""

from __future__ import annotations

import hashlib
import struct
import zlib
from functools import lru_cache
from typing import TYPE_CHECKING

from emulator.graph import odata
from emulator.graph.api import GraphError, graph_route, ok, raw
from emulator.graph.auth import PHOTO_READ, USER_SELF_READ, Caller
from emulator.graph.users import precheck, target_user

if TYPE_CHECKING:
    from emulator.app import Emulator
    from emulator.routing import Request, Response

SIZE = 64


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@lru_cache(maxsize=1024)
def png_for(user_id: str) -> bytes:
    """A valid 64x64 RGB PNG: a colour from the user id with a lighter centre square, so photos
    of different users differ and image decoders accept them."""
    digest = hashlib.sha256(user_id.encode()).digest()
    base = bytes(64 + b % 160 for b in digest[:3])
    light = bytes(min(255, c + 70) for c in base)
    rows = []
    for y in range(SIZE):
        inner_row = 16 <= y < 48
        row = b"".join(light if inner_row and 16 <= x < 48 else base for x in range(SIZE))
        rows.append(b"\x00" + row)  # filter type 0 per scanline
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + _chunk(b"IEND", b""))


def _photo_user(emu: Emulator, req: Request, caller: Caller) -> dict:  # type: ignore[type-arg]
    precheck(req, caller, PHOTO_READ)
    user = target_user(emu, req, caller)
    if not (caller.is_self(user) and caller.allowed(USER_SELF_READ)):
        caller.require(PHOTO_READ)
    if not user.get("photo"):
        raise GraphError(404, "ImageNotFound",
                         "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.")
    return user


@graph_route("GET", "/me/photo", "/users/{id}/photo")
def photo_metadata(emu: Emulator, req: Request, caller: Caller) -> Response:
    user = _photo_user(emu, req, caller)
    etag = hashlib.sha1(png_for(user["id"])).hexdigest()  # noqa: S324 - an etag, not security
    return ok(req, {
        "@odata.context": odata.context(f"users('{user['id']}')/photo/$entity"),
        "@odata.mediaContentType": "image/png",
        "@odata.mediaEtag": f'W/"{etag}"',
        "id": f"{SIZE}X{SIZE}",
        "height": SIZE,
        "width": SIZE,
    })


@graph_route("GET", "/me/photo/$value", "/users/{id}/photo/$value")
def photo_value(emu: Emulator, req: Request, caller: Caller) -> Response:
    user = _photo_user(emu, req, caller)
    return raw(req, png_for(user["id"]), "image/png")
