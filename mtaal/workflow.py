"""Glue for Snakemake ``script:`` adapters: log to the rule's log file, failures too."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
