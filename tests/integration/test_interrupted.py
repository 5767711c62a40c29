"""Snakemake itself killed with SIGKILL in the middle of the tiny tier's corpus layer, then run again.

What a user sees: without the default profile (which sets `--rerun-incomplete`) a rerun refuses to start,
naming the interrupted job's files as incomplete and the flag; with it, Snakemake refuses again because
the dead run's lock is left, naming `--unlock`. After `snakemake --unlock`, every job that had finished is
kept, the interrupted one is rerun, and the outputs equal an uninterrupted run's.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.workflow_helpers import assert_same_outputs, copy_workflow, outputs, snakemake

pytestmark = pytest.mark.slow

TARGET = "corpora"  # downloads, dataset builds, corpus statistics, MTAAL splits
TINY = ("--configfile", "config/tiers/tiny.yaml")
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def planned_jobs(listing: str) -> dict[tuple[str, ...], str]:
    """{outputs: reason} of each job in a `snakemake -n` listing."""
    jobs, current = {}, None
    for line in listing.splitlines():
        if match := re.match(r"\s+output: (.*)", line):
            current = tuple(part.strip() for part in match.group(1).split(","))
        elif current and (match := re.match(r"\s+reason: (.*)", line)):
            jobs[current] = match.group(1)
            current = None
    return jobs


def wait_for_group(pgid: int, seconds: float) -> None:
    """Until no process of the group is left (the killed run's jobs finish or die on their own)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(pgid, signal.SIGKILL)


def test_a_killed_run_keeps_finished_jobs_reruns_the_interrupted_one_and_ends_the_same(mirror, tmp_path):
    straight = copy_workflow(tmp_path / "straight")
    snakemake(straight, TARGET, *TINY, mirror=mirror)

    killed = copy_workflow(tmp_path / "killed")
    env = {**os.environ, "MTAAL_CORPUS_MIRROR": str(mirror)}
    with open(tmp_path / "killed.log", "w") as log:
        process = subprocess.Popen([SNAKEMAKE, "--cores", "1", TARGET, *TINY], cwd=killed, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    incomplete = killed / ".snakemake" / "incomplete"
    deadline = time.monotonic() + 600
    # mid-run: a dataset already built and some job under way
    while not (list((killed / "results/corpora").glob("*/summary.json")) and incomplete.is_dir()
               and any(incomplete.iterdir())):
        assert process.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "the run never reached the middle"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    wait_for_group(process.pid, 120)
    left = {path: (killed / path).stat().st_mtime_ns for path in outputs(killed)}

    # without rerun-incomplete (profiles/default sets it) Snakemake refuses, naming the files and the flag
    refused = snakemake(killed, "--workflow-profile", "none", TARGET, *TINY, mirror=mirror, check=False)
    message = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "--rerun-incomplete" in message, message
    named = set(re.findall(r"^(results/\S+)$", message.split("Incomplete files:")[1], re.MULTILINE))
    plan = planned_jobs(snakemake(killed, "-n", "--rerun-incomplete", TARGET, *TINY, mirror=mirror).stdout)
    # the interrupted job is forced to rerun; every other planned job had not run (or reads its output)
    interrupted = {outs for outs, reason in plan.items() if reason.startswith("Forced execution")}
    assert named and {out for outs in interrupted for out in outs} == named, (named, plan)
    assert all(reason.startswith(("Forced execution", "Missing output files")) for reason in plan.values())
    # the dead run's lock is still there: Snakemake says so and names --unlock
    locked = snakemake(killed, "--rerun-incomplete", TARGET, *TINY, mirror=mirror, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    snakemake(killed, "--unlock", *TINY, mirror=mirror)
    snakemake(killed, "--rerun-incomplete", TARGET, *TINY, mirror=mirror)
    # every output left by a job that had finished is the same file, untouched
    redone = [Path(out) for outs in plan for out in outs]
    kept = [path for path in left if not any(path == out or out in path.parents for out in redone)]
    assert kept, "nothing had finished before the kill"
    assert all((killed / path).stat().st_mtime_ns == left[path] for path in kept)
    assert_same_outputs(straight, killed)
    print(f"killed with {len(left)} output files left; {len(kept)} kept, {len(plan)} jobs planned after, "
          f"{len(interrupted)} of them interrupted: {sorted(interrupted)}")
