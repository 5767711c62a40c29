"""A results store job that fails is not forgotten (issue 27, item 1).

Snakemake deletes the output of a failed job. While the store was only an input of the tables (which were
still there), every later `snakemake` said "Nothing to be done", also after the bad run file was deleted:
the store partition and that run stayed missing. The store and the runs are targets of `rule all` now.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from tests.workflow_helpers import copy_workflow, snakemake

pytestmark = pytest.mark.slow

# The tiny tier cut to one MTAAL run per study and the transformer runs of one task.
SMALL = {
    "datasets": ["ncbi_disease", "s800_species"],
    "mtaal_data": {"datasets": ["ncbi_disease"]},
    "mtaal": {"curves": {"variants": ["mtaal"]}, "diversity": {"variants": ["mtaal"], "seeds": [1]}},
    "multitask": {"wordpiece_encoders": ["minilm"], "ablation_fractions": [0.0],
                  "entity_groups": ["species"]},
}
CONFIG = ("--configfile", "config/tiers/tiny.yaml", "small.yaml")
RUN = "results/mtaal/curves/ncbi_disease/word2vec/mtaal/seed1/rounds.parquet"
STORE = "results/store/paper=mtaal"
TABLE = "results/mtaal/tables/final_f1.parquet"


def test_a_failed_store_is_rebuilt_once_its_bad_run_file_is_gone(mirror, tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    (workdir / "small.yaml").write_text(yaml.safe_dump(SMALL))
    snakemake(workdir, *CONFIG, mirror=mirror)
    first = pd.read_parquet(workdir / TABLE)
    run = workdir / RUN
    run.write_bytes(run.read_bytes()[: run.stat().st_size // 2])  # a truncated run file

    failed = snakemake(workdir, *CONFIG, mirror=mirror, check=False)
    assert failed.returncode != 0
    log = (workdir / "results/logs/results/store_mtaal.log").read_text()
    assert RUN in log, log[-3000:]  # the store job names the bad file
    assert not (workdir / STORE).exists()  # Snakemake removed the failed job's output
    # the missing store is planned again (before the fix: "Nothing to be done")
    planned = snakemake(workdir, "-n", *CONFIG, mirror=mirror)
    plan = planned.stdout + planned.stderr
    assert "rule results_store:" in plan and STORE in plan, plan[-3000:]

    run.unlink()  # the fix: the bad run goes, and is run again
    done = snakemake(workdir, *CONFIG, mirror=mirror)
    for job in ("mtaal_run", "results_store", "mtaal_tables"):
        assert f"rule {job}:" in done.stdout + done.stderr, job
    stored = sorted(path.name for path in (workdir / STORE).rglob("*.parquet"))
    assert stored == ["ncbi_disease__word2vec__mtaal__seed1.parquet"] * 2  # curves and diversity
    assert (workdir / TABLE).stat().st_mtime > run.stat().st_mtime  # the tables made from the new store
    pd.testing.assert_frame_equal(pd.read_parquet(workdir / TABLE), first)  # the run is deterministic
    again = snakemake(workdir, "-n", *CONFIG, mirror=mirror)
    assert "Nothing to be done" in again.stdout + again.stderr
