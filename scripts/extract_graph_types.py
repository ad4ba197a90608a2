"""Extract the Graph v1.0 types the emulator serves from Microsoft's CSDL, for the conformance test.

Reads ``clean_v10_metadata/cleanMetadata.xml`` of microsoftgraph/msgraph-metadata (MIT) and
writes the structural types reachable from ROOTS (properties, base types, enum members; no
navigation properties, annotations or descriptions) to tests/emulator/graph_v1_types.json,
with the upstream commit it came from.

    git clone https://github.com/microsoftgraph/msgraph-metadata /tmp/msgraph-metadata
    .venv/bin/python scripts/extract_graph_types.py /tmp/msgraph-metadata \
        --commit "$(git -C /tmp/msgraph-metadata rev-parse HEAD)"
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
METADATA = "clean_v10_metadata/cleanMetadata.xml"
OUT = Path(__file__).resolve().parent.parent / "tests" / "emulator" / "graph_v1_types.json"
# The resources the emulator answers with (and what their properties reach).
ROOTS = ["user", "event", "calendar", "directoryRole", "unifiedRoleAssignment", "scheduleInformation",
         "meetingTimeSuggestionsResult", "group", "servicePrincipal", "appRoleAssignment"]
KINDS = {"EntityType": "entity", "ComplexType": "complex", "EnumType": "enum"}


def _local(type_name: str) -> tuple[str, bool]:
    """("graph.x" → "x", is a collection), or the Edm name unchanged."""
    collection = type_name.startswith("Collection(")
    inner = type_name[len("Collection("):-1] if collection else type_name
    return (inner.removeprefix("graph.") if inner.startswith("graph.") else inner), collection


def extract(metadata: Path) -> dict[str, Any]:
    schema = ET.parse(metadata).getroot().find(f".//{EDM}Schema")  # noqa: S314 - Microsoft's published metadata, from a local checkout
    assert schema is not None
    elements = {e.get("Name"): e for e in schema if e.tag.removeprefix(EDM) in KINDS}
    derived: dict[str, list[str]] = {}
    for name, element in elements.items():
        if base := element.get("BaseType"):
            derived.setdefault(_local(base)[0], []).append(str(name))
    types: dict[str, Any] = {}
    pending = list(ROOTS)
    while pending:
        name = pending.pop()
        if name in types or name not in elements:
            continue
        element = elements[name]
        kind = KINDS[element.tag.removeprefix(EDM)]
        if kind == "enum":
            types[name] = {"kind": kind, "members": [m.get("Name") for m in element.findall(f"{EDM}Member")]}
            continue
        entry: dict[str, Any] = {"kind": kind, "properties": {}}
        if base := element.get("BaseType"):
            entry["base"] = _local(base)[0]
            pending.append(entry["base"])
        if element.get("Abstract") == "true":
            entry["abstract"] = True
        if element.get("OpenType") == "true":
            entry["open"] = True
        if name in derived and name not in ("entity", "directoryObject", "outlookItem"):
            entry["derived"] = sorted(derived[name])
        for prop in element.findall(f"{EDM}Property"):
            type_name, collection = _local(str(prop.get("Type")))
            entry["properties"][prop.get("Name")] = {
                "type": type_name, **({"collection": True} if collection else {}),
                **({"nullable": False} if prop.get("Nullable") == "false" else {})}
            if not type_name.startswith("Edm."):
                pending.append(type_name)
        types[name] = entry
    return {k: types[k] for k in sorted(types)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout", type=Path, help="a checkout of microsoftgraph/msgraph-metadata")
    parser.add_argument("--commit", required=True, help="the checkout's commit, recorded in the extract")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    document = {
        "source": {"repository": "https://github.com/microsoftgraph/msgraph-metadata", "path": METADATA,
                   "commit": args.commit, "license": "MIT"},
        "roots": ROOTS,
        "types": extract(args.checkout / METADATA),
    }
    args.out.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
    print(f"Wrote {len(document['types'])} types to {args.out}")


if __name__ == "__main__":
    main()
