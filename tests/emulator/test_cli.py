"""``python -m emulator serve`` as a subprocess: JSON line, start-up time, persistent CA and key."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def _serve(state_dir: Path, *extra: str) -> tuple[subprocess.Popen[str], dict, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--port", "0", "--json", "--state-dir", str(state_dir), *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - started
    assert line, proc.stderr.read() if proc.stderr else "no output"
    return proc, json.loads(line), elapsed


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=10)


def _session(ca_file: str) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = ca_file
    return s


def test_serve_prints_connection_details_starts_fast_and_keeps_its_ca(tmp_path):
    state = tmp_path / "state"
    _stop(_serve(state)[0])  # first run creates the CA and signing key
    ca_before = (state / "ca.pem").read_bytes()

    proc, info, elapsed = _serve(state)
    try:
        assert set(info) >= {"base_url", "ca_file", "tenant_id", "second_tenant_id", "client_id", "client_secret"}
        assert elapsed < 1.0, f"took {elapsed:.2f}s to print its details"
        assert info["ca_file"] == str(state / "ca.pem")
        assert (state / "ca.pem").read_bytes() == ca_before
        with _session(str(state / "ca.pem")) as s:
            assert s.get(f"{info['base_url']}/_emulator/health").json()["status"] == "ok"
            keys = s.get(f"{info['base_url']}/{info['tenant_id']}/discovery/v2.0/keys").json()["keys"]
            token = s.post(f"{info['base_url']}/{info['tenant_id']}/oauth2/v2.0/token", data={
                "grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default",
                "client_id": info["client_id"], "client_secret": info["client_secret"]})
            assert token.status_code == 200
    finally:
        assert _stop(proc) == 0

    proc, info2, _ = _serve(state)
    try:
        assert info2["base_url"] != "" and info2["tenant_id"] == info["tenant_id"]
        with _session(info["ca_file"]) as s:  # the old CA file still verifies the new server
            keys2 = s.get(f"{info2['base_url']}/{info2['tenant_id']}/discovery/v2.0/keys").json()["keys"]
        assert keys2[0]["kid"] == keys[0]["kid"]  # and tokens stay verifiable across restarts
    finally:
        assert _stop(proc) == 0


def test_serve_with_auto_approve_turns_the_setting_on(tmp_path):
    proc, info, _ = _serve(tmp_path, "--auto-approve")
    try:
        with _session(info["ca_file"]) as s:
            assert s.get(f"{info['base_url']}/_emulator/settings").json()["auto_approve"] is True
            assert s.post(f"{info['base_url']}/_emulator/reset").status_code == 200
            assert s.get(f"{info['base_url']}/_emulator/settings").json()["auto_approve"] is True
    finally:
        _stop(proc)
