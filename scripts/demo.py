"""`make demo`: migrate, make an admin account, and run the web server on 127.0.0.1:8000."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CREDENTIALS = ROOT / "var" / "demo-admin.txt"


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def admin_credentials() -> tuple[str, str]:
    """Create the demo admin once; keep its password in var/ so reruns can print it."""
    if CREDENTIALS.exists():
        user, password = CREDENTIALS.read_text().split()
        return user, password
    user, password = "admin", secrets.token_urlsafe(12)
    env = {**os.environ, "DJANGO_SUPERUSER_PASSWORD": password}
    subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", user, "--email", "admin@localhost"],
        cwd=ROOT, env=env, check=True,
    )
    CREDENTIALS.parent.mkdir(parents=True, exist_ok=True)
    CREDENTIALS.write_text(f"{user} {password}\n")
    CREDENTIALS.chmod(0o600)
    return user, password


def main() -> None:
    (ROOT / "var").mkdir(exist_ok=True)
    manage("migrate", "--noinput")
    user, password = admin_credentials()
    print(
        "\n"
        "  Membership platform (demo)\n"
        "  --------------------------\n"
        "  Site:      http://127.0.0.1:8000/\n"
        "  Admin:     http://127.0.0.1:8000/admin/\n"
        f"  Username:  {user}\n"
        f"  Password:  {password}\n"
        "  Microsoft settings: http://127.0.0.1:8000/admin/membership/microsoftsettings/\n"
        "  Stop with Ctrl+C.\n",
        flush=True,
    )
    os.execv(sys.executable, [sys.executable, "manage.py", "runserver", "127.0.0.1:8000", "--noreload"])


if __name__ == "__main__":
    main()
