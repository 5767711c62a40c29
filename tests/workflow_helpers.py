"""Run the Snakemake workflow in a scratch copy, so tests never touch the repository's results/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_PARTS = ("Snakefile", "rules", "workflow_scripts", "config", "profiles", "envs", "report")


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
