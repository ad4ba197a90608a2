"""scripts/install-test-tools (run by `make test`), asked for chromium: a no-op when it is there, else apt-get
as root or through sudo, else one clear message and a non-zero exit. Run with stand-in commands on a PATH of
their own."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from django.conf import settings

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "install-test-tools"


def run(bin_dir: Path, packages: tuple[str, ...] = ("chromium",), **fakes: str) -> subprocess.CompletedProcess[str]:
    """Run the script for ``packages`` with only ``fakes`` (name → shell body) and a few basic tools on PATH."""
    bin_dir.mkdir(exist_ok=True)
    for tool in ("env", "dirname", "chmod"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    for name, body in fakes.items():
        (bin_dir / name).write_text(f"#!{shutil.which('bash')}\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return subprocess.run([shutil.which("bash") or "/bin/bash", str(SCRIPT), *packages], capture_output=True, text=True,
                          env={"PATH": str(bin_dir)}, timeout=30)


APT_GET = 'echo "apt-get $*" >> "$(dirname "$0")/log"; [ "$1" = install ] && { printf "#!/bin/sh\\n" > "$(dirname "$0")/chromium"; chmod +x "$(dirname "$0")/chromium"; }; exit 0'


def test_it_does_nothing_when_chromium_is_there(tmp_path: Path) -> None:
    done = run(tmp_path / "bin", chromium="exit 0", **{"apt-get": APT_GET}, id="echo 0")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert not (tmp_path / "bin" / "log").exists()


def test_root_installs_debians_chromium(tmp_path: Path) -> None:
    done = run(tmp_path / "bin", **{"apt-get": APT_GET}, id="echo 0")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "bin" / "log").read_text().splitlines() == ["apt-get update -qq",
                                                                  "apt-get install -y -qq chromium"]


def test_a_user_with_passwordless_sudo_installs_it_through_sudo(tmp_path: Path) -> None:
    sudo = 'echo "sudo $*" >> "$(dirname "$0")/sudo.log"; [ "$2" = true ] && exit 0; shift; exec "$@"'
    done = run(tmp_path / "bin", **{"apt-get": APT_GET}, id="echo 1000", sudo=sudo)
    assert done.returncode == 0, done.stderr
    assert "sudo -n apt-get update -qq" in (tmp_path / "bin" / "sudo.log").read_text()


def test_without_root_or_sudo_it_says_so_and_fails(tmp_path: Path) -> None:
    done = run(tmp_path / "bin", **{"apt-get": APT_GET}, id="echo 1000", sudo="exit 1")
    assert done.returncode == 1
    assert "not root and sudo is missing or asks for a password" in done.stderr
    assert "apt-get install chromium" in done.stderr
    assert not (tmp_path / "bin" / "log").exists()


def test_without_apt_get_it_says_so_and_fails(tmp_path: Path) -> None:
    done = run(tmp_path / "bin", id="echo 0")
    assert done.returncode == 1
    assert "no apt-get" in done.stderr


def test_by_default_it_installs_what_is_missing_of_chromium_and_redis_server(tmp_path: Path) -> None:
    apt_get = ('echo "apt-get $*" >> "$(dirname "$0")/log"; [ "$1" = install ] && for p in "${@:4}"; do '
               'printf "#!/bin/sh\\n" > "$(dirname "$0")/$p"; chmod +x "$(dirname "$0")/$p"; done; exit 0')
    done = run(tmp_path / "bin", (), **{"apt-get": apt_get}, id="echo 0", chromium="exit 0")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "bin" / "log").read_text().splitlines() == ["apt-get update -qq",
                                                                  "apt-get install -y -qq redis-server"]
