"""The tables of docs/functions.md, docs/errors.md and docs/configuration.md, generated from the
registry, the catalogs and the apps' settings (membership/conf.py, graphfns/conf.py).

``manage.py graph catalog --write`` rewrites the regions between the markers; a test fails when a
document differs from what this module generates, so the tables cannot drift.
"""

from __future__ import annotations

import re
from pathlib import Path

from graphfns.conf import conf
from graphfns.errors import CATALOG
from graphfns.registry import load
from membership.conf import conf as membership_conf
from membership.conf import declared
from membership.failures import CATALOG as SIGN_IN_FAILURES

# Which generated regions each document under docs/ holds.
DOCUMENTS = {
    "functions.md": ("functions",),
    "errors.md": ("errors", "sign-in-failures"),
    "configuration.md": ("settings",),
}


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


def sign_in_failures_table() -> str:
    rows = ["| `?f=` code | What the member reads | What the member can do | What the administrator can do |",
            "| --- | --- | --- | --- |"]
    for failure in SIGN_IN_FAILURES.values():
        rows.append(f"| `{failure.code}` | {_cell(failure.title)} | {_cell(failure.member_advice)} | "
                    f"{_cell(failure.admin_advice) or '—'} |")
    return "\n".join(rows)


def settings_table() -> str:
    rows = ["| Setting | App | Default | Meaning |", "| --- | --- | --- | --- |"]
    for app, settings in (("membership", declared(membership_conf)), ("graphfns", declared(conf))):
        for setting in settings:
            rows.append(f"| `{setting.name}` | {app} | {setting.documented_default()} | {_cell(setting.meaning)} |")
    return "\n".join(rows)


def generated() -> dict[str, str]:
    return {"functions": functions_table(), "errors": errors_table(), "sign-in-failures": sign_in_failures_table(),
            "settings": settings_table()}


def docs_dir() -> Path:
    return conf.docs_dir()


def _pattern(region: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- {region}:start -->\n)(.*?)(<!-- {region}:end -->)", re.DOTALL)


def _match(text: str, region: str, name: str) -> re.Match[str]:
    match = _pattern(region).search(text)
    if match is None:
        raise ValueError(f"{name} has no <!-- {region}:start --> … <!-- {region}:end --> markers")
    return match


def regions(text: str, names: tuple[str, ...], document: str = "the document") -> dict[str, str]:
    """The current text between each pair of markers (without the surrounding newlines)."""
    return {region: _match(text, region, document).group(2).strip("\n") for region in names}


def render(text: str, names: tuple[str, ...], document: str = "the document") -> str:
    """``text`` with each named region replaced by its generated table."""
    tables = generated()
    for region in names:
        match = _match(text, region, document)
        text = text[:match.start(2)] + tables[region] + "\n" + text[match.end(2):]
    return text


def stale(directory: Path | None = None) -> list[str]:
    """The documents whose generated tables differ from the registry and catalogs."""
    directory = directory or docs_dir()
    out = []
    for name, names in DOCUMENTS.items():
        text = (directory / name).read_text(encoding="utf-8")
        if render(text, names, name) != text:
            out.append(name)
    return out


def write(directory: Path | None = None) -> list[str]:
    """Rewrite the generated tables in docs/; the documents that changed."""
    directory = directory or docs_dir()
    changed = []
    for name, names in DOCUMENTS.items():
        path = directory / name
        text = path.read_text(encoding="utf-8")
        new = render(text, names, name)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(name)
    return changed
