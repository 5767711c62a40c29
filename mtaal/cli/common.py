"""What every ``mtaal`` command shares: the merged, validated config and the check of a step's inputs."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from mtaal.config import check_config
from mtaal.errors import MissingInputError, MtaalError

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"


def read_config_file(path: Path) -> dict:
    """One YAML config file as a mapping (an empty file: none); an error naming the file and the line."""
    path = Path(path)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise MtaalError(f"{path}: expected a UTF-8 YAML config file ({error})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or str(error)
        raise MtaalError(f"{where}: expected a YAML config file, found broken YAML ({problem})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise MtaalError(f"{path}: expected a mapping of config keys (key: value lines) at the top level, "
                         f"found a {type(loaded).__name__}")
    return loaded


def load_config(paths: list[Path], flag: str = "--config") -> dict:
    """Merge YAML config files left to right (later keys win, nested mappings merge) and validate.
    ``flag``: how the command takes the files (said when a tier file comes alone)."""
    import jsonschema

    config: dict = {}
    for path in paths:
        _merge(config, read_config_file(path))
    schema = yaml.safe_load((REPO_CONFIG / "schema" / "config.schema.yaml").read_text(encoding="utf-8"))
    try:
        jsonschema.validate(config, schema)
    except jsonschema.ValidationError as error:
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        message = f"config key {key}: {error.message}"
        base = REPO_CONFIG / "config.yaml"
        if error.validator == "required" and not error.absolute_path and not any(
                Path(path).resolve() == base.resolve() for path in paths):
            # a tier file alone: it holds only what its tier changes
            shown = " ".join(f"{flag} {path}".strip() for path in [base, *paths])
            message += (f". {', '.join(str(p) for p in paths)} is not a whole config: a tier file is applied "
                        f"on top of {base}, so give that first: {shown}")
        raise MtaalError(message) from None
    check_config(config)
    return config


def _merge(base: dict, update: dict) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def require(needed: dict[Path, str]) -> None:
    """Stop naming each missing input and the command that makes it: {path: command}; a parquet input that
    cannot be read (truncated, not parquet) stops the same way, before the step starts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    missing = [f"{path} (make it with `{command}`)" for path, command in needed.items() if not path.exists()]
    if missing:
        raise MissingInputError(f"missing input: {'; '.join(missing)}")
    for path, command in needed.items():
        if path.suffix == ".parquet" and path.is_file():
            try:
                pq.read_metadata(path)
            except (pa.ArrowException, OSError) as error:
                raise MtaalError(f"{path}: not a readable parquet file ({error}); make it again with "
                                 f"`{command}`") from None


def check_results_folder(path: Path) -> None:
    """``--results`` names a folder, or one to make: stop naming the file that is in its way."""
    for folder in (path, *path.parents):
        if folder.exists():
            if not folder.is_dir():
                raise MtaalError(f"--results {path}: {folder} is a file, not a folder (--results is the "
                                 "folder the steps read and write, default results)")
            return


def results_option(args: argparse.Namespace) -> str:
    """The --results option to repeat in a suggested command (none for the default)."""
    return "" if args.results == Path("results") else f" --results {args.results}"
