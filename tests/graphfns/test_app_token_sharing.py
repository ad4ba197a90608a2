"""The application token is shared by separate processes through the Django cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from graphfns.app_tokens import AppTokenCache
from membership.models import MicrosoftSettings

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import sys, django
django.setup()
from graphfns.app_tokens import AppTokenCache
from membership.models import MicrosoftSettings
base, tenant, client_id, secret = sys.argv[1:5]
ms = MicrosoftSettings(client_id=client_id, client_secret=secret, tenant=tenant, app_tenant_id=tenant,
                       authority_host=base, graph_url=base)
tokens = {AppTokenCache(ms).token() for _ in range(int(sys.argv[5]))}
print(len(tokens))
"""


def test_two_processes_share_one_application_token(emulator: Any, microsoft: MicrosoftSettings) -> None:
    AppTokenCache(microsoft).clear()
    emulator.emulator.grants.clear()
    info = emulator.info
    env = {**os.environ, "MICROSOFT_CA_BUNDLE": info["ca_file"], "DJANGO_SETTINGS_MODULE": "project.settings"}
    args = [sys.executable, "-c", WORKER, info["base_url"], info["tenant_id"], info["client_id"],
            info["client_secret"], "25"]
    workers = [subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [w.communicate(timeout=120) for w in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert out.strip() == "1"  # one token, reused for all 25 calls
    assert emulator.emulator.grants["client_credentials"] == 1
    # This process sees the same token without asking Microsoft.
    AppTokenCache(microsoft).token()
    assert emulator.emulator.grants["client_credentials"] == 1


def test_the_cached_token_is_encrypted_in_the_cache(emulator: Any, microsoft: MicrosoftSettings) -> None:
    from django.core.cache import cache

    tokens = AppTokenCache(microsoft)
    tokens.clear()
    token = tokens.token()
    stored = cache.get(tokens.key)
    assert token not in stored
    assert stored.startswith("gAAAA")


def test_an_app_tenant_without_the_app_asks_for_an_administrators_consent(emulator: Any,
                                                                          microsoft: MicrosoftSettings) -> None:
    from graphfns.errors import FunctionError

    microsoft.app_tenant_id = emulator.info["second_tenant_id"]  # Entra answers AADSTS700016 there
    microsoft.save()
    cache = AppTokenCache(microsoft)
    cache.clear()
    with pytest.raises(FunctionError) as excinfo:
        cache.token()
    assert (excinfo.value.code, excinfo.value.details.get("aad_code")) == ("Authorization_IdentityNotFound",
                                                                            "AADSTS700016")
