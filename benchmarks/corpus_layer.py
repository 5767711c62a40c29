"""Benchmark: the whole raw-to-parquet corpus stage (download from the mirror + every dataset + stats).

Runs the `corpora` target of the default tier through Snakemake in a scratch copy of the workflow and
reports wall time and the per-job times from the rules' benchmark files. Target: < 180 s on 2 cores.

    python benchmarks/corpus_layer.py [--cores 2] [--mirror ../shared/corpora] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.workflow_helpers import REPO, copy_workflow, snakemake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cores", default="2")
    parser.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "corpora")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mtaal-bench-") as scratch:
        workdir = copy_workflow(Path(scratch))
        started = time.perf_counter()
        snakemake(workdir, "--cores", args.cores, "corpora", mirror=args.mirror.resolve())
        wall = time.perf_counter() - started
        jobs = []
        for path in sorted((workdir / "results" / "benchmarks").rglob("*.tsv")):
            row = pd.read_csv(path, sep="\t").iloc[0]
            jobs.append(
                {
                    "job": str(path.relative_to(workdir / "results" / "benchmarks")),
                    "s": float(row["s"]),
                    "max_rss_mb": float(row["max_rss"]) if row["max_rss"] != "-" else None,
                }
            )
        coverage = pd.read_parquet(workdir / "results" / "tables" / "corpus_coverage.parquet")
    report = {
        "benchmark": "corpus_layer",
        "wall_seconds": round(wall, 1),
        "cores": args.cores,
        "machine": f"{platform.machine()} {platform.processor()}".strip(),
        "datasets_built": int((coverage["status"] == "built").sum()),
        "datasets_skipped": int((coverage["status"] == "skipped").sum()),
        "tokens": int(coverage["tokens"].sum()),
        "slowest_jobs": sorted(jobs, key=lambda job: -job["s"])[:8],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "corpus_layer.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
