"""Glue for Snakemake rules and ``script:`` adapters: log to the rule's log file (failures too), and config
helpers the rules call while planning (kept free of heavy imports)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from mtaal.errors import ConfigError


@contextmanager
def rule_logging(log_files) -> Iterator[logging.Logger]:
    """Send ``logging`` (and warnings) to the rule's first log file; log any exception before re-raising."""
    path = Path(log_files[0]) if log_files else None
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    logger = logging.getLogger("mtaal")
    try:
        yield logger
    except Exception:
        logger.exception("rule failed")
        raise


def query_size_for(query_size: int | Mapping[str, int], dataset: str) -> int:
    """A study's ``query_size`` for ``dataset``: the number itself, or its entry in a {dataset: n} map."""
    if isinstance(query_size, Mapping):
        if dataset not in query_size:
            raise ConfigError(f"mtaal query_size has no entry for dataset {dataset!r} (has: "
                              f"{', '.join(sorted(query_size))})")
        return int(query_size[dataset])
    return int(query_size)


def study_for(study: Mapping, dataset: str) -> dict:
    """A study's settings with ``query_size`` resolved for ``dataset``."""
    return {**study, "query_size": query_size_for(study["query_size"], dataset)}
