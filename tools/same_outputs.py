"""Run the tiny tier at two commits and compare every table they write: the proof that a refactor left the
numbers alone (or the list of what it changed).

    python tools/same_outputs.py BEFORE [AFTER] [--targets mtaal results] [--out same_outputs.json]

AFTER defaults to the working tree's HEAD. Each commit is checked out in a temporary git worktree and run
with ``snakemake --configfile config/tiers/tiny.yaml TARGETS`` (the corpus mirror from
``$MTAAL_CORPUS_MIRROR`` or ``../shared/corpora``). Every parquet file under ``results/`` is compared by
name: columns only one side has, rows (after sorting on the shared columns) and values (floats to 1e-9;
timing columns left out). The results store is compared as one table whatever its file layout (a file per
run, or per paper partition), metric by metric: metrics only one side records are listed, the rest compared
as above. Figures and rendered tables (PNG, SVG, markdown, HTML under ``results/``) are compared byte for byte
(the workflow writes them without date stamps), but for the pages that record when and where they were made
(:data:`VOLATILE`), which are listed only. Exit status 1 when a table, figure or page differs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
TIMING = {"wall_seconds", "train_seconds", "seconds", "s", "cpu_time", "max_rss", "max_vms", "max_uss",
          "max_pss",
          "io_in", "io_out", "mean_load", "datetime", "elapsed_s"}
SKIPPED_DIRS = {"benchmarks", "logs", "raw", "checkpoints", "store"}
RENDERED = (".png", ".svg", ".md", ".html")
# Pages that name the commit, the machine and the jobs' timings: never the same at two commits.
VOLATILE = {"report/provenance.html", "report/benchmarks.html"}


def run_tier(commit: str, workdir: Path, targets: list[str]) -> Path:
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(workdir), commit], check=True,
                   capture_output=True)
    mirror = os.environ.get("MTAAL_CORPUS_MIRROR") or str(REPO.parent / "shared" / "corpora")
    env = {**os.environ, "PYTHONPATH": str(workdir), "MTAAL_CORPUS_MIRROR": mirror}
    snakemake = Path(sys.executable).with_name("snakemake")
    command = [str(snakemake), *targets, "--cores", "2", "--configfile", "config/tiers/tiny.yaml"]
    done = subprocess.run(command,
                          cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"snakemake at {commit} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return workdir / "results"


def tables(results: Path) -> dict[str, Path]:
    return {str(p.relative_to(results)): p for p in sorted(results.rglob("*.parquet"))
            if not SKIPPED_DIRS & set(p.relative_to(results).parts[:-1])}


def rendered(results: Path) -> dict[str, Path]:
    """Every figure and rendered table under ``results`` (outside :data:`SKIPPED_DIRS`), by relative path."""
    return {str(p.relative_to(results)): p for p in sorted(results.rglob("*"))
            if p.suffix in RENDERED and p.is_file()
            and not SKIPPED_DIRS & set(p.relative_to(results).parts[:-1])}


def compare_rendered(before: Path, after: Path) -> dict:
    """Figures and rendered tables of two results folders, byte for byte (:data:`VOLATILE` listed only)."""
    a, b = rendered(before), rendered(after)
    shared = sorted(set(a) & set(b))
    differ = [n for n in shared if n not in VOLATILE and a[n].read_bytes() != b[n].read_bytes()]
    return {"compared": len(shared), "differ": differ,
            "volatile": sorted(VOLATILE & set(shared)),
            "only_before": sorted(set(a) - set(b)), "only_after": sorted(set(b) - set(a))}


def _comparable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    if "metric" in frame.columns:  # the store keeps timings as metric rows
        frame = frame[~frame["metric"].isin(TIMING)]
    frame = frame[columns].copy()
    for column in columns:  # lists / arrays / dicts as text, so that rows sort and compare
        if frame[column].map(lambda v: isinstance(v, (list, tuple, np.ndarray, dict))).any():
            frame[column] = frame[column].map(lambda v: json.dumps(v.tolist() if isinstance(v, np.ndarray)
                                                                   else v, default=str))
        if not pd.api.types.is_float_dtype(frame[column]):  # None, NaN and NA are one missing value
            frame[column] = frame[column].astype(object).where(frame[column].notna(), "<NA>").astype(str)
    return frame.sort_values(columns, ignore_index=True, key=lambda s: s.astype(str))


def compare_table(before: Path, after: Path) -> dict:
    return compare_frames(pd.read_parquet(before), pd.read_parquet(after))


def read_store_files(results: Path) -> pd.DataFrame:
    """Every row of the results store, whichever files hold it (the layout changed between commits)."""
    files = sorted((results / "store").rglob("*.parquet"))
    frames = [pd.read_parquet(f) for f in files]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["metric"])


def compare_store(before: Path, after: Path) -> dict:
    a, b = read_store_files(before), read_store_files(after)
    a, b = a[~a["metric"].isin(TIMING)], b[~b["metric"].isin(TIMING)]
    metrics_a, metrics_b = set(a["metric"]), set(b["metric"])
    out: dict = {"rows": [len(a), len(b)],
                 "metrics_only_before": sorted(metrics_a - metrics_b),
                 "metrics_only_after": sorted(metrics_b - metrics_a),
                 "columns_only_before": sorted(set(a.columns) - set(b.columns) - TIMING),
                 "columns_only_after": sorted(set(b.columns) - set(a.columns) - TIMING)}
    differing = {}
    for metric in sorted(metrics_a & metrics_b):
        compared = compare_frames(a[a["metric"] == metric], b[b["metric"] == metric])
        if compared.get("differs"):
            differing[metric] = {"rows": compared["rows"], "differs": compared["differs"]}
    if differing:
        out["differs"] = differing
    return out


def compare_frames(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    only_before = sorted(set(a.columns) - set(b.columns) - TIMING)
    only_after = sorted(set(b.columns) - set(a.columns) - TIMING)
    shared = [c for c in a.columns if c in set(b.columns) and c not in TIMING]
    out: dict = {"rows": [len(a), len(b)], "columns_only_before": only_before,
                 "columns_only_after": only_after}
    a, b = _comparable(a, shared), _comparable(b, shared)
    if len(a) != len(b):
        out["differs"] = "row count"
        return out
    differing = []
    for column in shared:
        x, y = a[column], b[column]
        if pd.api.types.is_float_dtype(x) and pd.api.types.is_float_dtype(y):
            same = np.isclose(x.to_numpy(float), y.to_numpy(float), rtol=0, atol=1e-9, equal_nan=True)
        else:
            same = (x.astype(str) == y.astype(str)).to_numpy()
        if not same.all():
            first = int(np.argmin(same))
            differing.append({"column": column, "rows": int((~same).sum()),
                              "first": [str(x.iat[first]), str(y.iat[first])]})
    if differing:
        out["differs"] = differing
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", default="HEAD")
    parser.add_argument("--targets", nargs="+", default=["mtaal", "results"])
    parser.add_argument("--out", type=Path, default=Path("same_outputs.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="same-outputs-") as tmp:
        roots = [run_tier(commit, Path(tmp) / name, args.targets)
                 for commit, name in ((args.before, "before"), (args.after, "after"))]
        try:
            before, after = tables(roots[0]), tables(roots[1])
            report = {"before": args.before, "after": args.after, "targets": args.targets,
                      "only_before": sorted(set(before) - set(after)),
                      "only_after": sorted(set(after) - set(before)),
                      "tables": {name: compare_table(before[name], after[name])
                                 for name in sorted(set(before) & set(after))}}
            report["tables"]["store (all files)"] = compare_store(*roots)
            report["figures_and_pages"] = compare_rendered(*roots)
        finally:
            for root in roots:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(root.parent)],
                               capture_output=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    changed = {n: t for n, t in report["tables"].items()
               if t.get("differs") or t["columns_only_before"] or t["columns_only_after"]
               or t.get("metrics_only_before") or t.get("metrics_only_after")}
    files = report["figures_and_pages"]
    print(f"{len(report['tables'])} tables compared; {len(changed)} differ; only before: "
          f"{len(report['only_before'])}, only after: {len(report['only_after'])} (details: {args.out})")
    for name, table in changed.items():
        print(f"  {name}: {json.dumps({k: v for k, v in table.items() if v and k != 'rows'})[:300]}")
    print(f"{files['compared']} figures and pages compared; {len(files['differ'])} differ "
          f"({', '.join(files['differ'][:10])}); volatile, not compared: {', '.join(files['volatile'])}; "
          f"only before: {len(files['only_before'])}, only after: {len(files['only_after'])}")
    unequal = files["differ"] or files["only_before"] or files["only_after"]
    return 1 if changed or report["only_before"] or report["only_after"] or unequal else 0


if __name__ == "__main__":
    raise SystemExit(main())
