"""config/README.md explains every setting: its settings tables are the schema's (tools/config_readme.py)."""

import importlib.util
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).parents[2]
SPEC = importlib.util.spec_from_file_location("config_readme", REPO / "tools" / "config_readme.py")
config_readme = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(config_readme)
SCHEMA = yaml.safe_load((REPO / "config" / "schema" / "config.schema.yaml").read_text(encoding="utf-8"))
README = (REPO / "config" / "README.md").read_text(encoding="utf-8")


def test_the_settings_tables_are_the_schemas():
    assert config_readme.refresh(README, SCHEMA) == README, "run python tools/config_readme.py"


def test_every_top_and_second_level_key_and_every_tier_is_named():
    for top, node in SCHEMA["properties"].items():
        assert f"`{top}`" in README
        for second in node.get("properties") or {}:
            assert f"`{top}.{second}`" in README
    for second in SCHEMA["$defs"]["study"]["properties"]:
        assert f"| `{second}` |" in README
    for tier in SCHEMA["properties"]["tier"]["enum"]:
        assert f"\n| {tier} |" in README, tier


def test_types_defaults_and_references_read_plainly():
    schema = {
        "$defs": {"study": {"description": "A study.", "properties": {"rounds": {"type": "integer"}}}},
        "properties": {
            "mode": {"type": "string", "enum": ["a", "b"], "default": "a", "description": "Pick | one."},
            "cap": {"type": ["integer", "null"], "minimum": 1},
            "group": {
                "type": "object",
                "properties": {
                    "size": {"oneOf": [{"type": "integer"}, {"type": "object", "additionalProperties":
                                                              {"type": "integer"}}]},
                    "curves": {"$ref": "#/$defs/study"},
                    "named": {"type": "object", "additionalProperties": {
                        "type": "object", "properties": {"mode": {"$ref": "#/properties/mode"}}}},
                },
            },
        },
    }
    text = config_readme.settings_markdown(schema)
    assert "| `mode` | `a` \\| `b` | Pick \\| one. Default: `a`. |" in text
    assert "| `cap` | integer or null >= 1 |  |" in text
    assert "| `group.size` | integer or map of integer |  |" in text
    assert "| `group.curves` | study | Study settings: see the study table. |" in text
    assert "| `group.named.<name>.mode` | as `mode` |  |" in text
    assert "| `rounds` | integer |  |" in text
    with pytest.raises(SystemExit, match="no <!-- settings"):
        config_readme.refresh("no block", schema)
