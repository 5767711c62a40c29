"""Incremental regeneration: after one setting changes, `snakemake -n` plans exactly the jobs that
depend on it (new runs and the aggregations over them), nothing upstream and nothing beside.

Snakemake 9 reruns a job when an output is missing or older than an input (mtime), or when its params,
its set of input files, its software environment or its code (a script's mtime) changed since it ran.
So a rule's params must hold only what that job uses: a seed list passed whole to every run would rerun
every run when one seed is added.
"""

from __future__ import annotations

import re
import time

import pytest
import yaml

from tests.workflow_helpers import copy_workflow, snakemake

pytestmark = pytest.mark.slow

TARGET = "mtaal"  # corpus layer, embeddings, every MTAAL run, tables and figures of the tiny tier
TINY = "config/tiers/tiny.yaml"
RUN = "results/mtaal/{study}/ncbi_disease/word2vec/{variant}/seed{seed}/rounds.parquet"
DIVERSITY_VARIANTS = ["mtl-lc", "mtl-entropy", "mtl-random", "mtaal"]


@pytest.fixture(scope="module")
def finished(mirror, tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("incremental"))
    snakemake(workdir, TARGET, "--configfile", TINY, mirror=mirror)
    return workdir


def planned(workdir, mirror, change: dict | None = None) -> set[tuple[str, str]]:
    """(rule, first output) of every job `snakemake -n` plans with ``change`` as an extra config file."""
    configs = [TINY]
    if change is not None:
        (workdir / "change.yaml").write_text(yaml.safe_dump(change))
        configs.append("change.yaml")
    result = snakemake(workdir, "-n", TARGET, "--configfile", *configs, mirror=mirror)
    jobs, rule = set(), None
    for line in (result.stdout + result.stderr).splitlines():
        if match := re.match(r"(?:local)?rule (\w+):$", line):
            rule = match.group(1)
            jobs.add((rule, ""))  # a target rule has no output line
        elif rule and (match := re.match(r"\s+output: ([^,]+)", line)):
            jobs.discard((rule, ""))
            jobs.add((rule, match.group(1).strip()))
            rule = None
    return jobs


def runs(study, variants, seed):
    return {("mtaal_run", RUN.format(study=study, variant=variant, seed=seed)) for variant in variants}


TABLES = ("mtaal_tables", "results/mtaal/tables/rounds.parquet")
FIGURES = ("mtaal_figures", "results/mtaal/figures/fig6_td_effect.png")
TARGET_JOB = (TARGET, "")


def test_finished_tier_has_nothing_to_do(finished, mirror):
    clock = time.monotonic()
    assert planned(finished, mirror) == set()
    print(f"snakemake -n on the finished tiny tier ({TARGET}): {time.monotonic() - clock:.2f} s")


def test_a_new_diversity_seed_runs_only_its_runs_and_the_tables(finished, mirror):
    jobs = planned(finished, mirror, {"mtaal": {"diversity": {"seeds": [1, 2, 3]}}})
    # not the figures: they show the curves study only
    assert jobs == runs("diversity", DIVERSITY_VARIANTS, 3) | {TABLES, TARGET_JOB}


def test_a_new_curves_seed_runs_only_its_runs_tables_and_figures(finished, mirror):
    variants = list(yaml.safe_load((finished / "config/config.yaml").read_text())["mtaal"]["variants"])
    jobs = planned(finished, mirror, {"mtaal": {"seeds": [1, 2]}})
    assert jobs == runs("curves", variants, 2) | {TABLES, FIGURES, TARGET_JOB}


def test_a_table_setting_reruns_only_the_tables(finished, mirror):
    jobs = planned(finished, mirror, {"mtaal": {"report_after_round": {"ncbi_disease": 1}}})
    assert jobs == {TABLES, TARGET_JOB}


def test_a_model_setting_reruns_every_run_but_nothing_upstream(finished, mirror):
    jobs = planned(finished, mirror, {"mtaal": {"model": {"hidden": 8}}})
    assert {rule for rule, _ in jobs} == {"mtaal_run", "mtaal_tables", "mtaal_figures", TARGET}
    assert len([job for job in jobs if job[0] == "mtaal_run"]) == 21 + 4 * 2


def test_a_setting_of_another_stage_plans_nothing(finished, mirror):
    assert planned(finished, mirror, {"multitask": {"training": {"epochs": 3}}}) == set()
