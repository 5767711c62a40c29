"""Write the settings part of config/README.md from the config schema's descriptions.

    python tools/config_readme.py            # rewrite the block in config/README.md
    python tools/config_readme.py --check    # exit 1 if the block is not what the schema gives

The block lies between ``<!-- settings: ... -->`` and ``<!-- /settings -->``; everything else in
config/README.md is written by hand. One table per top-level section, a row per setting (nested settings
as dotted paths, ``<name>`` for a key of the user's choosing), its type and allowed values, and the
schema's description and default. Edit the schema, then run this.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "config" / "schema" / "config.schema.yaml"
README = REPO / "config" / "README.md"
BLOCK = re.compile(r"(<!-- settings: [^\n]*-->\n)(.*?)(<!-- /settings -->)", re.S)
STUDY_REF = "#/$defs/study"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _ref_target(schema: dict, ref: str) -> Any:
    node: Any = schema
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def _ref_key(ref: str) -> str:
    """``#/properties/mtaal/properties/model/properties/x`` -> ``mtaal.model.x``."""
    return ".".join(p for p in ref.lstrip("#/").split("/") if p != "properties")


def _scalar(value: Any) -> str:
    """A value as the config file writes it: ``null``, ``true``, ``10000``, ``[a, b]``."""
    if isinstance(value, (list, dict)):
        return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return str(value)


def _bounds(node: dict) -> str:
    signs = [("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")]
    return ", ".join(f"{sign} {node[key]}" for key, sign in signs if key in node)


def type_of(node: dict, schema: dict) -> str:
    """A short reading of a schema node's type: ``integer >= 1``, `` `a` | `b` ``, ``list of string``."""
    if "$ref" in node:
        return "study" if node["$ref"] == STUDY_REF else f"as `{_ref_key(node['$ref'])}`"
    if "allOf" in node:
        return " and ".join(type_of(part, schema) for part in node["allOf"] if "required" not in part)
    if "enum" in node:
        return " | ".join(f"`{_scalar(v)}`" for v in node["enum"])
    if "type" not in node:
        for key in ("oneOf", "anyOf"):
            if key in node:
                return " or ".join(type_of(part, schema) for part in node[key])
    types = node.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    words = []
    for t in types:
        if t == "array" and "items" in node:
            words.append(f"list of {type_of(node['items'], schema)}")
        elif t == "object" and isinstance(extra := node.get("additionalProperties"), dict) and not node.get(
            "properties"
        ):
            words.append(f"map of {type_of(extra, schema)}")
        else:
            words.append(t)
    text = " or ".join(words) or "any"
    bounds = _bounds(node)
    return f"{text} {bounds}" if bounds else text


def rows(node: dict, schema: dict, prefix: str) -> list[tuple[str, str, str]]:
    """(key, type, description) for every setting under ``node``, depth first in the schema's order."""
    out = []
    for name, child in (node.get("properties") or {}).items():
        key = f"{prefix}{name}"
        description = child.get("description", "")
        if "default" in child:
            description = f"{description} Default: `{_scalar(child['default'])}`.".strip()
        if child.get("$ref") == STUDY_REF or any(p.get("$ref") == STUDY_REF for p in child.get("allOf", [])):
            required = [r for p in child.get("allOf", []) for r in p.get("required", [])]
            extra = f" ({', '.join(f'`{r}`' for r in required)} required)" if required else ""
            description = f"{description} Study settings{extra}: see the study table.".strip()
        out.append((key, type_of(child, schema), description))
        out += rows(child, schema, f"{key}.")
        extra = child.get("additionalProperties")
        if isinstance(extra, dict) and extra.get("properties"):
            out += rows(extra, schema, f"{key}.<name>.")
    return out


def table(entries: list[tuple[str, str, str]]) -> list[str]:
    lines = ["| key | type | what |", "|---|---|---|"]
    lines += [f"| `{key}` | {_cell(kind)} | {_cell(what)} |" for key, kind, what in entries]
    return lines


def settings_markdown(schema: dict) -> str:
    """The generated block: top-level scalars, then one section per top-level object, then a study's keys."""
    top = schema["properties"]
    sections = [name for name, node in top.items() if node.get("properties")]
    plain = {"properties": {k: v for k, v in top.items() if k not in sections}}
    lines = ["### Top level", "", *table(rows(plain, schema, "")), ""]
    for name in sections:
        lines += [f"### `{name}`", ""]
        if top[name].get("description"):
            lines += [_cell(top[name]["description"]), ""]
        lines += [*table(rows(top[name], schema, f"{name}.")), ""]
    study = schema["$defs"]["study"]
    lines += ["### Study settings (`mtaal.curves`, `mtaal.diversity`)", "", _cell(study["description"]), "",
              *table(rows(study, schema, "")), ""]
    return "\n".join(lines)


def refresh(readme: str, schema: dict) -> str:
    if not BLOCK.search(readme):
        raise SystemExit("config/README.md has no <!-- settings: ... --> ... <!-- /settings --> block")
    return BLOCK.sub(lambda m: m.group(1) + settings_markdown(schema) + m.group(3), readme, count=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether the block is up to date")
    args = parser.parse_args()
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    readme = README.read_text(encoding="utf-8")
    new = refresh(readme, schema)
    if args.check:
        if new != readme:
            sys.exit("config/README.md is out of date with the schema: run python tools/config_readme.py")
        return
    README.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
