"""Certificate credentials: reading an uploaded PEM, generating a key pair, and signing the client
assertion Microsoft accepts instead of a client secret.

Nothing here logs or returns a private key except to the caller that stores it (encrypted).
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

VALIDITY = timedelta(days=730)  # a generated certificate: two years, as the Azure portal suggests at most
KEY_SIZE = 2048
ASSERTION_LIFETIME = 600  # seconds; Microsoft advises 5-10 minutes


class CertificateError(ValueError):
    """The uploaded file cannot serve as a certificate credential; the message says why, for the admin."""


@dataclass(frozen=True)
class Certificate:
    """The public half, as the Azure portal lists it under Certificates & secrets."""

    pem: str

    @property
    def x509(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.pem.encode())

    @property
    def thumbprint(self) -> str:
        """SHA-1, hex, upper case: the “Thumbprint” column of the Azure portal."""
        return self.x509.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - x5t is SHA-1 by definition

    @property
    def thumbprint_sha256(self) -> str:
        return self.x509.fingerprint(hashes.SHA256()).hex().upper()

    @property
    def subject(self) -> str:
        return self.x509.subject.rfc4514_string()

    @property
    def not_before(self) -> datetime:
        return self.x509.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.x509.not_valid_after_utc

    @property
    def der(self) -> bytes:
        """The ``.cer`` file the Azure portal takes."""
        return self.x509.public_bytes(serialization.Encoding.DER)


def read_pem_bundle(data: bytes, password: str = "") -> tuple[str, Certificate]:
    """(private key PEM, certificate) from a PEM file holding both; an encrypted key needs ``password``.

    The key is returned unencrypted (PKCS#8): it is stored encrypted with FIELD_ENCRYPTION_KEY instead.
    """
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CertificateError("The file holds no PEM certificate (-----BEGIN CERTIFICATE-----).") from None
    try:
        key = serialization.load_pem_private_key(data, password.encode() or None)
    except TypeError:
        if password:
            raise CertificateError("The private key is not encrypted: leave the password empty.") from None
        raise CertificateError("The private key is encrypted: enter its password.") from None
    except ValueError:
        if password and b"ENCRYPTED" in data:
            raise CertificateError("The password does not open the private key.") from None
        raise CertificateError("The file holds no readable PEM private key (-----BEGIN PRIVATE KEY-----).") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError("The private key is not RSA: Microsoft's client assertions are RSA-signed.")
    if key.key_size < KEY_SIZE:
        raise CertificateError(f"The RSA key has {key.key_size} bits; Microsoft needs at least {KEY_SIZE}.")
    public = key.public_key().public_numbers()
    matching = [c for c in certs if isinstance(c.public_key(), rsa.RSAPublicKey)
                and c.public_key().public_numbers() == public]  # type: ignore[union-attr]
    if not matching:
        raise CertificateError("No certificate in the file matches the private key.")
    return _key_pem(key), Certificate(matching[0].public_bytes(serialization.Encoding.PEM).decode())


def generate(common_name: str, *, validity: timedelta = VALIDITY, now: datetime | None = None
             ) -> tuple[str, Certificate]:
    """A new RSA 2048 key and a self-signed certificate for it: (private key PEM, certificate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    start = (now or datetime.now(UTC)) - timedelta(minutes=5)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + validity)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _key_pem(key), Certificate(cert.public_bytes(serialization.Encoding.PEM).decode())


def _key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def client_assertion(private_key: str, certificate: Certificate, client_id: str, audience: str) -> str:
    """The signed JWT Microsoft takes in place of a client secret (its “certificate credentials” format):
    PS256 with the SHA-256 thumbprint in ``x5t#S256``, ``aud`` the token endpoint, ``iss`` = ``sub`` = the
    client id, and a fresh ``jti``: one assertion per request, so none is ever presented twice."""
    now = int(time.time())
    thumbprint = base64.urlsafe_b64encode(bytes.fromhex(certificate.thumbprint_sha256)).decode().rstrip("=")
    claims = {"aud": audience, "iss": client_id, "sub": client_id, "jti": str(uuid.uuid4()),
              "iat": now, "nbf": now, "exp": now + ASSERTION_LIFETIME}
    return jwt.encode(claims, private_key, algorithm="PS256", headers={"x5t#S256": thumbprint, "typ": "JWT"})
