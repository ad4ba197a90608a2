"""`make demo`: migrate, start the Microsoft emulator, point the settings at it, run the site,
a Celery worker and Celery beat.

Everything runs on this machine with no server to install: SQLite, the file cache and, for
background jobs, Celery on kombu's filesystem transport.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from write_env import emulator_variables, set_variables

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
CREDENTIALS = VAR / "demo-admin.txt"
PORT = os.environ.get("DEMO_PORT", "8000")
EMULATOR_PORT = os.environ.get("EMULATOR_PORT", "8443")
# The `dev` sign-in mode: "Override default scopes" on, so it asks for exactly these.
DEV_SCOPES = "User.Read User.ReadBasic.All Calendars.ReadWrite"


def manage(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True, env=env)


def admin_credentials() -> tuple[str, str]:
    """Create the demo admin once; keep its password in var/ so reruns can print it."""
    if CREDENTIALS.exists():
        user, password = CREDENTIALS.read_text().split()
        return user, password
    user, password = "admin", secrets.token_urlsafe(12)
    manage("createsuperuser", "--noinput", "--username", user, "--email", "admin@localhost",
           env={**os.environ, "DJANGO_SUPERUSER_PASSWORD": password})
    CREDENTIALS.write_text(f"{user} {password}\n")
    CREDENTIALS.chmod(0o600)
    return user, password


def require_free_port(port: str, variable: str) -> None:
    """Stop with one line when something already listens on ``port`` (e.g. a demo still running)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", int(port)))
        except OSError:
            raise SystemExit(f"Port {port} is in use (another `make demo`?): stop what uses it, or choose another "
                             f"port with {variable}=<port> make demo") from None


def start_emulator() -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--port", EMULATOR_PORT,
         "--state-dir", str(VAR / "emulator"), "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("The Microsoft emulator did not start; run `python -m emulator serve` to see why.")
    return proc, json.loads(line)


def main() -> None:
    require_free_port(PORT, "DEMO_PORT")
    require_free_port(EMULATOR_PORT, "EMULATOR_PORT")
    VAR.mkdir(exist_ok=True)
    manage("migrate", "--noinput", "-v", "0")
    user, password = admin_credentials()
    emulator, info = start_emulator()
    # The emulator may receive the client secret and tokens: trust its CA and allow its host, here and
    # in .env, so that `manage.py` in a second terminal does too.
    variables = emulator_variables(info)
    set_variables(ROOT / ".env", variables)
    env = {**os.environ, **variables}
    manage(
        "microsoft_settings", "--enabled", "yes",
        "--client-id", info["client_id"], "--client-secret", info["client_secret"],
        "--tenant", info["tenant_id"], "--app-tenant-id", info["tenant_id"],
        "--authority-host", info["base_url"], "--graph-url", info["base_url"],
        "--default-scopes", "User.Read Calendars.ReadWrite",
        "--mode", "dev", "--mode-scopes", DEV_SCOPES, "--mode-override", "yes",
        env=env,
    )
    children = [emulator]
    site = f"http://127.0.0.1:{PORT}"
    print(
        "\n"
        "  Membership platform (demo)\n"
        "  --------------------------\n"
        f"  Site:      {site}/   (Sign in with Microsoft: pick any seeded user, e.g. Lee Gu)\n"
        f"  Admin:     {site}/admin/\n"
        f"  Username:  {user}\n"
        f"  Password:  {password}\n"
        f"  Microsoft settings: {site}/admin/membership/microsoftsettings/\n"
        f"  Sign in as the `dev` mode (Override default scopes: {DEV_SCOPES}):\n"
        f"             {site}/auth/microsoft/login/?mode=dev\n"
        f"  Microsoft emulator: {info['base_url']}  (CA: {info['ca_file']})\n"
        "  Celery worker and beat: logs in var/logs/\n"
        "  In a second terminal (.env now trusts the emulator), call Graph as the application:\n"
        "    .venv/bin/python manage.py graph call users.get --param user_id=adele@contoso.test --app\n"
        "  Stop with Ctrl+C.\n",
        flush=True,
    )
    logs = VAR / "logs"
    logs.mkdir(exist_ok=True)
    # Background jobs: a worker (refresh sweep batches, asynchronous functions) and beat (the schedule).
    for name, args in (("worker", ["worker", "-c", "2", "-l", "INFO"]), ("beat", ["beat", "-l", "INFO"])):
        log_file = (logs / f"celery-{name}.log").open("ab")
        children.append(subprocess.Popen([sys.executable, "-m", "celery", "-A", "project", *args], cwd=ROOT, env=env,
                                         stdout=log_file, stderr=subprocess.STDOUT))
    web = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{PORT}", "--noreload"],
                           cwd=ROOT, env=env)
    children.append(web)

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    try:
        # Run until Ctrl+C / SIGTERM, or until any part stops by itself (then stop the rest).
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    main()
