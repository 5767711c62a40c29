"""Run the Snakemake workflow in a scratch copy, so tests never touch the repository's results/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_PARTS = ("Snakefile", "rules", "workflow_scripts", "config", "profiles", "envs", "report")
# Run-dependent fields of the outputs: how long a step took.
TIMING_FIELDS = {"seconds"}


def copy_workflow(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part)
        else:
            shutil.copy2(source, target / part)
    return target


def snakemake(
    workdir: Path, *args: str, mirror: Path | None = None, check: bool = True, env: dict | None = None
):
    """Run snakemake in ``workdir``; ``env`` adds environment variables to this process's."""
    env = {**os.environ, **(env or {})}
    if mirror is not None:
        env["MTAAL_CORPUS_MIRROR"] = str(mirror)
    command = [str(Path(sys.executable).with_name("snakemake")), "--cores", "2", *args]
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def outputs(root: Path) -> list[Path]:
    """Every file under ``root/results`` but logs and benchmarks, relative to ``root``."""
    results = root / "results"
    return sorted(
        path.relative_to(root) for path in results.rglob("*")
        if path.is_file() and path.relative_to(results).parts[0] not in {"logs", "benchmarks"}
    )


def without_timing(value):
    if isinstance(value, dict):
        return {key: without_timing(item) for key, item in value.items() if key not in TIMING_FIELDS}
    if isinstance(value, list):
        return [without_timing(item) for item in value]
    return value


def assert_same_outputs(left: Path, right: Path) -> list[Path]:
    """The same output files with equal content (timing fields aside); returns the paths compared."""
    paths = outputs(left)
    assert paths == outputs(right)
    for path in paths:
        if path.suffix == ".parquet":
            one, other = pd.read_parquet(left / path), pd.read_parquet(right / path)
            pd.testing.assert_frame_equal(one.drop(columns=TIMING_FIELDS, errors="ignore"),
                                          other.drop(columns=TIMING_FIELDS, errors="ignore"), obj=str(path))
        elif path.suffix == ".json":
            one, other = (json.loads((root / path).read_text()) for root in (left, right))
            assert without_timing(one) == without_timing(other), path
        else:
            assert (left / path).read_bytes() == (right / path).read_bytes(), path
    return paths
