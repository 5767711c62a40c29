"""The paper tier on a pretend one-GPU, 16-core machine: plain `snakemake --cores 16` (the default profile
loaded by itself) plans every job, and Snakemake's own greedy scheduler, given those jobs' declared
resources and the profile's limits, never runs two GPU jobs at once while the cores stay busy."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from snakemake.scheduling.greedy import Scheduler, SchedulerSettings

from tests.workflow_helpers import REPO, copy_workflow

pytestmark = pytest.mark.slow

CORES = 16
TRAINING_RULES = {"mtaal_run", "multitask_stl", "multitask_mtl", "multitask_mtl_without",
                  "multitask_finetune"}


def planned_jobs(workdir: Path, *args: str) -> tuple[list[SimpleNamespace], str]:
    """Every job of a dry run, with the integer resources, threads and priority it printed."""
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    result = subprocess.run([snakemake, "-n", "--cores", str(CORES), *args], cwd=workdir,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", result.stdout):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        if not rule:
            continue
        found = re.search(r"\n\s+resources: (.*)", block)
        threads = re.search(r"\n\s+threads: (\d+)", block)
        priority = re.search(r"\n\s+priority: (-?\d+)", block)
        resources = {}
        for item in found.group(1).split(", ") if found else []:
            name, value = item.split("=", 1)
            if value.isdigit():
                resources[name] = int(value)
        jobs.append(SimpleNamespace(
            rule=rule.group(1), input=[], priority=int(priority.group(1)) if priority else 0,
            scheduler_resources={**resources, "_cores": int(threads.group(1)) if threads else 1, "_nodes": 1,
                                 "_job_count": 1},
        ))
    return jobs, result.stdout + result.stderr


def profile_limits(workdir: Path) -> dict[str, int]:
    """The global resources Snakemake schedules against: --cores, and the default profile's resources."""
    profile = yaml.safe_load((workdir / "profiles" / "default" / "config.yaml").read_text())
    limits = {"_cores": CORES, "_nodes": sys.maxsize, "_job_count": sys.maxsize}
    for item in profile.get("resources", []):
        name, value = item.split("=")
        limits[name] = int(value)
    return limits


def greedy() -> Scheduler:
    """Snakemake's default scheduler (profile: scheduler: greedy); jobs ranked by priority alone."""
    return Scheduler(None, SchedulerSettings(omit_prioritize_by_temp_and_input=True), logging.getLogger())


def simulate(jobs: list[SimpleNamespace], limits: dict[str, int]) -> tuple[int, int]:
    """Run ``jobs`` as Snakemake's greedy scheduler would, all of them ready from the start (the worst case:
    no dependency holds any back), each finishing in turn, first started first. Returns the most GPU
    jobs and the most jobs that ran at once."""
    scheduler = greedy()
    pending, running, free = list(jobs), [], dict(limits)
    most_gpu = most_jobs = 0
    while pending or running:
        for job in scheduler.select_jobs(pending, pending, free, {}):
            pending.remove(job)
            running.append(job)
            for name in free:
                free[name] -= job.scheduler_resources.get(name, 0)
        assert all(value >= 0 for value in free.values()), free
        most_gpu = max(most_gpu, sum(job.scheduler_resources.get("gpu", 0) for job in running))
        most_jobs = max(most_jobs, len(running))
        assert running, "nothing could start"
        done = running.pop(0)
        for name in free:
            free[name] += done.scheduler_resources.get(name, 0)
    return most_gpu, most_jobs


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("gpu_plan"))
    jobs, log = planned_jobs(workdir, "--configfile", "config/tiers/paper.yaml")
    return workdir, jobs, log


def test_the_default_profile_is_loaded_and_allows_one_gpu(paper):
    workdir, _, log = paper
    assert "Using workflow specific profile profiles/default" in log
    assert profile_limits(workdir)["gpu"] == 1
    assert profile_limits(REPO)["gpu"] == 1


def test_every_paper_tier_training_job_declares_a_gpu_and_its_memory(paper):
    _, jobs, _ = paper
    training = [job for job in jobs if job.rule in TRAINING_RULES]
    assert {job.rule for job in training} == TRAINING_RULES and len(training) > 1000
    assert all(job.scheduler_resources["gpu"] == 1 for job in training)
    assert not any(job.scheduler_resources.get("gpu") for job in jobs if job.rule not in TRAINING_RULES)
    # BioBERT on a GPU: the host holds the CUDA context and the weights (mtaal/multitask/resources.py)
    memory = {job.rule: job.scheduler_resources["mem_mb"] for job in training if job.rule != "mtaal_run"}
    assert memory == {"multitask_stl": 5000, "multitask_finetune": 5000, "multitask_mtl": 6000,
                      "multitask_mtl_without": 6000}


def test_a_one_gpu_16_core_machine_runs_one_gpu_job_at_a_time(paper):
    workdir, jobs, _ = paper
    limits = profile_limits(workdir)
    # every job ready at once: one selection over the whole paper tier
    scheduler = greedy()
    first = scheduler.select_jobs(jobs, jobs, dict(limits), {})
    assert sum(job.scheduler_resources.get("gpu", 0) for job in first) == 1
    assert len(first) == CORES  # the other cores take CPU jobs meanwhile
    # then job after job: every CPU-only job and every 10th GPU job, to the end
    gpu_jobs = [job for job in jobs if job.scheduler_resources.get("gpu")]
    sample = [job for job in jobs if not job.scheduler_resources.get("gpu")] + gpu_jobs[::10]
    most_gpu, most_jobs = simulate(sample, limits)
    assert most_gpu == 1 and most_jobs == CORES
    # without the profile's limit the same machine would start a GPU job on every core
    unlimited = {name: value for name, value in limits.items() if name != "gpu"}
    assert simulate(gpu_jobs[:40], unlimited)[0] == CORES
