"""The tiny tier's `corpora` target through the slurm profile on a real (one-node) Slurm cluster.

Needs a running cluster with accounting: `tools/local_slurm.sh start` sets one up on this machine
(`.ci/run` does so before the tests). Skips, saying why, without Slurm or its executor plugin.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.workflow_helpers import assert_same_outputs, copy_workflow, snakemake

pytestmark = pytest.mark.slow

TARGET = "corpora"
TINY = ("--configfile", "config/tiers/tiny.yaml")


def _command(*args: str) -> str | None:
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def _cluster() -> tuple[str, str]:
    """(default partition, an account of this user) of the running cluster, or skip saying why."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.skip("snakemake-executor-plugin-slurm not installed: pip install -e '.[slurm]'")
    missing = [tool for tool in ("sinfo", "sbatch", "sacct", "sacctmgr") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"Slurm client commands not found ({', '.join(missing)}): run tools/local_slurm.sh start")
    partitions = _command("sinfo", "-h", "-o", "%P %a %t")
    if partitions is None:
        pytest.skip("Slurm controller not reachable (sinfo failed): run tools/local_slurm.sh start")
    usable = [line.split() for line in partitions.splitlines()]
    usable = [name for name, avail, state in usable if avail == "up" and state in {"idle", "mix", "alloc"}]
    default = next((name.rstrip("*") for name in usable if name.endswith("*")), None)
    if default is None:
        pytest.skip(f"no default Slurm partition with a usable node:\n{partitions}")
    user = _command("id", "-un").strip()
    accounts = _command("sacctmgr", "-n", "-P", "list", "association", f"user={user}", "format=account")
    if not accounts or not accounts.split():
        pytest.skip(f"Slurm accounting (sacctmgr) has no account for {user}")
    return default, accounts.split()[0]


@pytest.fixture(scope="module")
def runs(mirror, tmp_path_factory):
    partition, account = _cluster()
    local = copy_workflow(tmp_path_factory.mktemp("local"))
    snakemake(local, TARGET, *TINY, mirror=mirror)
    cluster = copy_workflow(tmp_path_factory.mktemp("slurm"))
    started = datetime.now().replace(microsecond=0)
    clock = time.monotonic()
    result = snakemake(
        # the workflow profile, in place of profiles/default (which would be laid over a --profile)
        cluster, TARGET, *TINY, "--workflow-profile", "profiles/slurm",
        "--jobs", "20",
        # the first status check 2 s after a submission, not the profile's 40 s: tiny jobs
        "--slurm-init-seconds-before-status-checks", "2",
        mirror=mirror,
        env={"MTAAL_SLURM_PARTITION": partition, "MTAAL_SLURM_ACCOUNT": account},
    )
    seconds = time.monotonic() - clock
    return {"local": local, "cluster": cluster, "started": started, "partition": partition,
            "account": account, "log": result.stdout + result.stderr, "seconds": seconds}


def test_every_job_ran_as_a_slurm_job_in_the_given_partition_and_account(runs):
    benchmarks = runs["cluster"] / "results/benchmarks"
    local = sorted((benchmarks / "download").glob("*.tsv"))  # localrules: on the login node
    executed = [path for path in sorted(benchmarks.rglob("*.tsv")) if path not in local]
    # downloads run on the login node (localrules); 5 dataset builds, corpus stats and 2 MTAAL splits as jobs
    assert len(local) >= 5 and len(executed) == 8
    sacct = _command(
        "sacct", "-X", "-n", "-P", "-a", "-S", runs["started"].isoformat(),
        "-o", "JobID,Partition,Account,State,WorkDir",
    )
    assert sacct is not None
    jobs = [line.split("|") for line in sacct.splitlines()]
    ours = [job for job in jobs if Path(job[4]).resolve() == runs["cluster"].resolve()]
    assert len(ours) == len(executed), runs["log"][-3000:]
    assert {(job[1], job[2], job[3]) for job in ours} == {(runs["partition"], runs["account"], "COMPLETED")}
    print(f"{len(ours)} Slurm jobs in {runs['seconds']:.0f} s")


def test_outputs_equal_a_local_run(runs):
    paths = assert_same_outputs(runs["local"], runs["cluster"])
    assert any(path.suffix == ".parquet" for path in paths)
