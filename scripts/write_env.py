"""Write a development .env with fresh keys, unless one exists (keys must survive restarts).

``make demo`` also sets the emulator's variables in it (``set_variables``), so that a second
terminal's ``manage.py`` trusts the emulator as the demo's own processes do.
"""

from __future__ import annotations

import re
import secrets
import sys
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet


def main(path: str = ".env") -> None:
    target = Path(path)
    if target.exists():
        print(f"{target} exists; keeping its keys.")
        return
    target.write_text(
        "# Written by `make demo`. Development values: do not use in production.\n"
        "DEBUG=true\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"FIELD_ENCRYPTION_KEY={Fernet.generate_key().decode()}\n"
    )
    target.chmod(0o600)
    print(f"Wrote {target} with a fresh SECRET_KEY and FIELD_ENCRYPTION_KEY.")


def emulator_variables(info: dict[str, Any]) -> dict[str, str]:
    """What any process needs to talk to the local emulator: trust its CA, allow its host."""
    return {"MICROSOFT_CA_BUNDLE": str(info["ca_file"]), "MICROSOFT_ALLOWED_HOSTS": "127.0.0.1"}


def set_variables(path: Path, values: dict[str, str]) -> None:
    """Set these variables in the .env at ``path``, replacing their old lines and keeping the rest."""
    lines = path.read_text().splitlines() if path.exists() else []
    kept = [line for line in lines if not re.match(rf"\s*({'|'.join(map(re.escape, values))})\s*=", line)]
    marker = "# For the local emulator only (make demo); remove both when pointing at Microsoft."
    kept = [line for line in kept if line != marker]
    path.write_text("\n".join([*kept, marker, *(f"{k}={v}" for k, v in values.items())]) + "\n")
    path.chmod(0o600)


def read_variables(path: Path) -> dict[str, str]:
    """The KEY=VALUE lines of a .env file (no quoting: this script writes none)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


if __name__ == "__main__":
    main(*sys.argv[1:])
