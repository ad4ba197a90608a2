"""README.md's function and error tables are generated; this fails when they drift."""

from __future__ import annotations

from pathlib import Path

from graphfns import catalog
from graphfns.errors import CATALOG
from graphfns.registry import load


def test_readme_tables_match_the_registry_and_the_error_catalog() -> None:
    current = catalog.regions(catalog.readme_path().read_text(encoding="utf-8"))
    assert current == catalog.generated(), "README.md is out of date: run `manage.py graph catalog --write-readme`"


def test_the_tables_name_every_function_and_error() -> None:
    tables = catalog.generated()
    for name, fn in load().items():
        assert f"| `{name}` |" in tables["functions"]
        assert all(f"`{scope}`" in tables["functions"] for scope in fn.delegated)
    for code, kind in CATALOG.items():
        assert f"| `{code}` | {kind.status} |" in tables["errors"]


def test_write_readme_rewrites_only_the_regions(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\n<!-- functions:start -->\nSTALE-TABLE\n<!-- functions:end -->\n\nmiddle\n\n"
                      "<!-- errors:start -->\n<!-- errors:end -->\ntail\n", encoding="utf-8")
    assert catalog.write_readme(readme) is True
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\n<!-- functions:start -->\n| Function |")
    assert "STALE-TABLE" not in text and "\nmiddle\n" in text and text.endswith("<!-- errors:end -->\ntail\n")
    assert catalog.regions(text) == catalog.generated()
    assert catalog.write_readme(readme) is False
