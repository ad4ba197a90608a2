"""The README's function and error tables, generated from the registry and the error catalog.

``manage.py graph catalog --write-readme`` rewrites the regions between the markers; a test
fails when README.md differs from what this module generates, so the tables cannot drift.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from graphfns.errors import CATALOG
from graphfns.registry import load

REGIONS = ("functions", "errors")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _names(items: tuple[str, ...]) -> str:
    return ", ".join(f"`{i}`" for i in items) if items else "—"


def functions_table() -> str:
    rows = ["| Function | Description | Delegated scopes (any one) | Application permissions (any one) |",
            "| --- | --- | --- | --- |"]
    for fn in sorted(load().values(), key=lambda f: f.name):
        rows.append(f"| `{fn.name}` | {_cell(fn.description)} | {_names(fn.delegated)} | {_names(fn.application)} |")
    return "\n".join(rows)


def errors_table() -> str:
    rows = ["| Code | HTTP status | Message |", "| --- | --- | --- |"]
    for kind in CATALOG.values():
        rows.append(f"| `{kind.code}` | {kind.status} | {_cell(kind.message)} |")
    return "\n".join(rows)


def generated() -> dict[str, str]:
    return {"functions": functions_table(), "errors": errors_table()}


def readme_path() -> Path:
    return Path(settings.BASE_DIR) / "README.md"


def _pattern(region: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- {region}:start -->\n)(.*?)(<!-- {region}:end -->)", re.DOTALL)


def regions(text: str) -> dict[str, str]:
    """The current text between each pair of markers (without the surrounding newlines)."""
    found = {}
    for region in REGIONS:
        match = _pattern(region).search(text)
        if match is None:
            raise ValueError(f"README.md has no <!-- {region}:start --> … <!-- {region}:end --> markers")
        found[region] = match.group(2).strip("\n")
    return found


def render_readme(text: str) -> str:
    """``text`` with each region replaced by its generated table."""
    for region, table in generated().items():
        match = _pattern(region).search(text)
        if match is None:
            raise ValueError(f"README.md has no <!-- {region}:start --> … <!-- {region}:end --> markers")
        text = text[:match.start(2)] + table + "\n" + text[match.end(2):]
    return text


def write_readme(path: Path | None = None) -> bool:
    """Rewrite README.md's generated regions; whether anything changed."""
    path = path or readme_path()
    text = path.read_text(encoding="utf-8")
    new = render_readme(text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text
