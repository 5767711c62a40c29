"""What every ``mtaal`` command shares: the merged, validated config and the check of a step's inputs."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from mtaal.config import check_config
from mtaal.errors import MissingInputError, MtaalError

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"


def load_config(paths: list[Path]) -> dict:
    """Merge YAML config files left to right (later keys win, nested mappings merge) and validate."""
    import jsonschema

    config: dict = {}
    for path in paths:
        _merge(config, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    schema = yaml.safe_load((REPO_CONFIG / "schema" / "config.schema.yaml").read_text(encoding="utf-8"))
    try:
        jsonschema.validate(config, schema)
    except jsonschema.ValidationError as error:
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise MtaalError(f"config key {key}: {error.message}") from None
    check_config(config)
    return config


def _merge(base: dict, update: dict) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def require(needed: dict[Path, str]) -> None:
    """Stop naming each missing input and the command that makes it: {path: command}."""
    missing = [f"{path} (make it with `{command}`)" for path, command in needed.items() if not path.exists()]
    if missing:
        raise MissingInputError(f"missing input: {'; '.join(missing)}")


def results_option(args: argparse.Namespace) -> str:
    """The --results option to repeat in a suggested command (none for the default)."""
    return "" if args.results == Path("results") else f" --results {args.results}"
