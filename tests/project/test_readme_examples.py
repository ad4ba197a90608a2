"""Every `manage.py graph` example of README.md runs as written in a second terminal after `make demo`.

The examples run as separate processes, configured only by a .env made the way `make demo` makes
it (scripts/write_env.py), against the emulator and this test's database.
"""

from __future__ import annotations

import os
import re
import runpy
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings

from tests.support.members import Connect
from tests.support.workers import database_url

ROOT = Path(settings.BASE_DIR)
WRITE_ENV = runpy.run_path(str(ROOT / "scripts" / "write_env.py"))
PREFIX = ".venv/bin/python manage.py graph "
# Covered by tests/graphfns/test_readme_catalog.py; running it here could rewrite docs/ unnoticed.
NOT_RUN_HERE = ("graph catalog --write",)


def readme_commands() -> list[str]:
    """Commands in code blocks (joined across `\\` continuations) and in inline code spans."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    text = re.sub(r"\\\n\s*", "", text)
    found = [line.strip() for line in text.splitlines() if line.strip().startswith(PREFIX)]
    found += re.findall(rf"`({re.escape(PREFIX)}[^`]*)`", text.replace("\n", " "))
    commands = []
    for command in found:
        command = command.split("  #")[0].strip()
        if command not in commands and not any(skip in command for skip in NOT_RUN_HERE):
            commands.append(command)
    return commands


def readme_python() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_shows_cli_calls_as_the_application_and_as_a_member() -> None:
    commands = readme_commands()
    assert any("--app" in c for c in commands) and any("--as " in c for c in commands)
    assert not re.search(r"(?<!\.venv/bin/)python manage\.py", (ROOT / "README.md").read_text(encoding="utf-8"))


def test_every_readme_example_runs_against_the_emulator(connect: Connect, emulator: Any, tmp_path: Path) -> None:
    connect("adele")  # the README's walk signs Adele in before calling as her
    # The emulator's part of the demo's .env; its keys are this run's (they wrote this database).
    dot_env = tmp_path / ".env"
    WRITE_ENV["set_variables"](dot_env, WRITE_ENV["emulator_variables"](emulator.info))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROSOFT_")}
    env.update(WRITE_ENV["read_variables"](dot_env))
    env["DATABASE_URL"] = database_url()
    for command in readme_commands():
        argv = shlex.split(command)
        assert argv[0] == ".venv/bin/python"
        done = subprocess.run([sys.executable, *argv[1:]], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    for block in readme_python():
        exec(compile(block, "README.md", "exec"), {})

