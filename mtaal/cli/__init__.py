"""``mtaal`` command line: the workflow's main steps without Snakemake.

Examples::

    mtaal download ncbi_disease --mirror ../shared/corpora
    mtaal build-dataset ncbi_disease
    mtaal mtaal-split ncbi_disease
    mtaal embeddings                    # config mtaal.embeddings as .safetensors files, then coverage
    mtaal active-learn ncbi_disease --variant mtaal --embedding glove --seed 1   # one MTAAL run
    mtaal mtaal-tables                  # MTAAL Tables 2-4 and Figs. 6-8 from the runs there are
    mtaal wordpiece cdr_chemical && mtaal multitask-run cdr_chemical --fraction 0.5   # one transformer run
    mtaal wordpiece-table && mtaal multitask-report   # the multitask paper's tables and figures
    mtaal store && mtaal compare        # the results store, then every printed cell beside it
    mtaal claims && mtaal figures && mtaal report   # claim verdicts, cross-paper figures, HTML pages
    mtaal --config config/tiers/paper.yaml --config config/tiers/reproduce-ncbi.yaml \
        record rebuild reproductions/ncbi-paper-scale   # a committed record's comparison and figures
    mtaal check-config config/config.yaml config/tiers/tiny.yaml
    mtaal init my_project --entity-types disease --concepts   # then add-text, add-labels, train, query
"""

from __future__ import annotations

import logging
import os
import sys

from mtaal.cli.common import REPO_CONFIG, load_config, require
from mtaal.cli.parser import build_parser
from mtaal.cli.runs import run_command
from mtaal.errors import MtaalError

__all__ = ["KERNEL_CACHE_CAPACITY", "REPO_CONFIG", "load_config", "main", "require"]


# oneDNN caches one compiled kernel per input shape (default 1024): scoring a large pool meets hundreds of
# (batch, length) shapes and the cache alone grew `query`'s RSS by ~300 MiB at 100k sentences. 64 kernels
# keep memory flat at no measured cost in time (benchmarks/curate_query.py). Read by oneDNN at first use.
KERNEL_CACHE_CAPACITY = "64"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", KERNEL_CACHE_CAPACITY)
    args = build_parser(__doc__.split("\n\n")[0]).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        run_command(args)
    except MtaalError as error:
        print(f"mtaal: error: {error}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:  # a user's path; the steps' own inputs are checked by require()
        print(f"mtaal: error: {error.filename or error}: no such file", file=sys.stderr)
        return 2
    except (NotADirectoryError, IsADirectoryError) as error:  # a user's path of the wrong kind
        print(f"mtaal: error: {error.filename or error}: {error.strerror}", file=sys.stderr)
        return 2
    return 0

