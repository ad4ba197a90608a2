"""docs/functions.md and docs/errors.md hold generated tables; this fails when they drift."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from graphfns import catalog
from graphfns.conf import conf as graphfns_conf
from graphfns.errors import CATALOG
from graphfns.registry import load
from membership.conf import conf as membership_conf
from membership.conf import declared
from membership.failures import CATALOG as SIGN_IN_FAILURES


def test_the_docs_tables_match_the_registry_and_the_catalogs() -> None:
    assert catalog.stale() == [], "docs/ is out of date: run `.venv/bin/python manage.py graph catalog --write`"


def test_the_tables_name_every_function_error_and_sign_in_failure() -> None:
    tables = catalog.generated()
    for name, fn in load().items():
        assert f"| `{name}` |" in tables["functions"]
        assert all(f"`{scope}`" in tables["functions"] for scope in fn.delegated)
    for code, kind in CATALOG.items():
        assert f"| `{code}` | {kind.status} |" in tables["errors"]
    for code in SIGN_IN_FAILURES:
        assert f"| `{code}` |" in tables["sign-in-failures"]


def test_the_settings_table_names_every_setting_the_apps_read_with_its_default() -> None:
    table = catalog.generated()["settings"]
    for app, conf in (("membership", membership_conf), ("graphfns", graphfns_conf)):
        for setting in declared(conf):
            assert f"| `{setting.name}` | {app} | {setting.documented_default()} |" in table
    assert "| `MICROSOFT_CONNECT_TIMEOUT` | membership | `5.0` |" in table
    assert "| `SITE_URL` | membership | unset |" in table


def test_write_rewrites_only_the_regions(tmp_path: Path) -> None:
    (tmp_path / "functions.md").write_text("# Title\n\n<!-- functions:start -->\nSTALE-TABLE\n"
                                           "<!-- functions:end -->\n\nmiddle\n", encoding="utf-8")
    (tmp_path / "errors.md").write_text("<!-- errors:start -->\n<!-- errors:end -->\ntail\n"
                                        "<!-- sign-in-failures:start -->\n<!-- sign-in-failures:end -->\n",
                                        encoding="utf-8")
    (tmp_path / "configuration.md").write_text("<!-- settings:start -->\n<!-- settings:end -->\n", encoding="utf-8")
    assert catalog.stale(tmp_path) == ["functions.md", "errors.md", "configuration.md"]
    assert catalog.write(tmp_path) == ["functions.md", "errors.md", "configuration.md"]
    text = (tmp_path / "functions.md").read_text(encoding="utf-8")
    assert text.startswith("# Title\n\n<!-- functions:start -->\n| Function |")
    assert "STALE-TABLE" not in text and text.endswith("<!-- functions:end -->\n\nmiddle\n")
    assert catalog.regions(text, ("functions",)) == {"functions": catalog.functions_table()}
    assert catalog.write(tmp_path) == []


def test_the_command_checks_and_writes_the_docs(tmp_path: Path, settings: object) -> None:
    (tmp_path / "docs").mkdir()
    for name in catalog.DOCUMENTS:
        shutil.copy(catalog.docs_dir() / name, tmp_path / "docs" / name)
    settings.BASE_DIR = tmp_path  # type: ignore[attr-defined]
    (tmp_path / "docs" / "errors.md").write_text("<!-- errors:start -->\nold\n<!-- errors:end -->\n"
                                                 "<!-- sign-in-failures:start -->\n<!-- sign-in-failures:end -->\n")
    with pytest.raises(CommandError, match=r"docs/errors.md.*graph catalog --write"):
        call_command("graph", "catalog", "--check", stdout=StringIO())
    out = StringIO()
    call_command("graph", "catalog", "--write", stdout=out)
    assert "docs/errors.md" in out.getvalue()
    call_command("graph", "catalog", "--check", stdout=StringIO())
