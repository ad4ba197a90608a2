"""`make demo`'s own script: the .env it leaves for a second terminal, and a busy port."""

from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
WRITE_ENV = runpy.run_path(str(ROOT / "scripts" / "write_env.py"))


def test_the_emulator_variables_are_set_in_env_and_replaced_on_the_next_run(tmp_path: Path) -> None:
    dot_env = tmp_path / ".env"
    WRITE_ENV["main"](str(dot_env))
    keys = WRITE_ENV["read_variables"](dot_env)
    WRITE_ENV["set_variables"](dot_env, WRITE_ENV["emulator_variables"]({"ca_file": "/old/ca.pem"}))
    WRITE_ENV["set_variables"](dot_env, WRITE_ENV["emulator_variables"]({"ca_file": "/new/ca.pem"}))
    text = dot_env.read_text()
    assert text.count("MICROSOFT_CA_BUNDLE=") == 1 and text.count("# For the local emulator only") == 1
    assert WRITE_ENV["read_variables"](dot_env) == {**keys, "MICROSOFT_CA_BUNDLE": "/new/ca.pem",
                                                     "MICROSOFT_ALLOWED_HOSTS": "127.0.0.1"}
    assert dot_env.stat().st_mode & 0o777 == 0o600


def test_a_busy_port_is_one_line_naming_the_port_and_its_variable() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        done = subprocess.run([sys.executable, "scripts/demo.py"], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "DEMO_PORT": port}, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"Port {port} is in use (another `make demo`?): stop what uses it, or choose another port with "
        f"DEMO_PORT=<port> make demo"]
