"""Write a development .env with fresh keys, unless one exists (keys must survive restarts)."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

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


if __name__ == "__main__":
    main(*sys.argv[1:])
