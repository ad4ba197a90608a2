"""The emulator's signing key and RS256 JWTs (access tokens and id_tokens)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    """The key's certificate, the same for the same key (fixed dates, serial from the key;
    PKCS#1 v1.5 signatures are deterministic), so x5t and x5c survive a restart."""
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.accesscontrol.windows.net")])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(int.from_bytes(hashlib.sha256(spki).digest()[:16], "big") >> 1)
            .not_valid_before(datetime(2024, 1, 1, tzinfo=UTC)).not_valid_after(datetime(2029, 1, 1, tzinfo=UTC))
            .sign(key, hashes.SHA256()))


class InvalidToken(Exception):
    """A bearer token that is missing, malformed, badly signed or expired."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class Signer:
    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self.private_key = private_key
        self.public_key = private_key.public_key()
        self.certificate = _self_signed(private_key)
        # Entra publishes each key with its certificate; kid and x5t are both the certificate's
        # SHA-1 thumbprint.
        self.x5t = _b64url(self.certificate.fingerprint(hashes.SHA1()))  # noqa: S303 - a thumbprint, not a security hash
        self.kid = self.x5t

    @classmethod
    def generate(cls) -> Signer:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def load_or_create(cls, path: Path) -> Signer:
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            return cls(key)
        signer = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(
            signer.private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
        return signer

    def jwk(self) -> dict[str, Any]:
        """The key as Entra's JWKS lists it: no ``alg`` or ``key_ops``, with its certificate."""
        numbers = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.public_key))
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.x5t, "n": numbers["n"], "e": numbers["e"],
                "x5c": [base64.b64encode(der).decode()]}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token: str, *, now: float, audience: str | list[str] | None = None) -> dict[str, Any]:
        """Decode a token this emulator signed; raise InvalidToken otherwise.

        ``now`` is the emulator's clock (which tests may shift), so expiry is checked here
        rather than by pyjwt against the wall clock.
        """
        try:
            header = jwt.get_unverified_header(token)
            if header.get("kid") != self.kid:
                raise InvalidToken("The token was not signed by a key this service knows.")
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=["RS256"],
                audience=audience,
                options={"verify_exp": False, "verify_nbf": False, "verify_aud": audience is not None},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if "exp" in claims and now >= float(claims["exp"]):
            raise InvalidToken("Lifetime validation failed, the token is expired.")
        if "nbf" in claims and now + 300 < float(claims["nbf"]):
            raise InvalidToken("The token is not yet valid.")
        return claims
