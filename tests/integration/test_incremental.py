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

TARGET = "mtaal"  # corpus layer, embeddings, every MTAAL run, its store, tables and figures (tiny tier)
TINY = "config/tiers/tiny.yaml"
RUN = "results/mtaal/{study}/ncbi_disease/word2vec/{variant}/seed{seed}/rounds.parquet"
DIVERSITY_VARIANTS = ["mtl-lc", "mtl-entropy", "mtl-random", "mtaal"]


@pytest.fixture(scope="module")
def finished(mirror, tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("incremental"))
    snakemake(workdir, TARGET, "--configfile", TINY, mirror=mirror)
    return workdir


def planned(workdir, mirror, change: dict | None = None, targets=(TARGET,)) -> set[tuple[str, str]]:
    """(rule, first output) of every job `snakemake -n` plans with ``change`` as an extra config file."""
    configs = [TINY]
    if change is not None:
        (workdir / "change.yaml").write_text(yaml.safe_dump(change))
        configs.append("change.yaml")
    result = snakemake(workdir, "-n", *targets, "--configfile", *configs, mirror=mirror)
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


STORE = ("results_store", "results/store/paper=mtaal")  # what the MTAAL tables and figures read
TABLES = ("mtaal_tables", "results/mtaal/tables/rounds.parquet")
FIGURES = ("mtaal_figures", "results/mtaal/figures/fig6_td_effect.png")
TARGET_JOB = (TARGET, "")


def test_finished_tier_has_nothing_to_do(finished, mirror):
    clock = time.monotonic()
    assert planned(finished, mirror) == set()
    print(f"snakemake -n on the finished tiny tier ({TARGET}): {time.monotonic() - clock:.2f} s")


def test_a_new_diversity_seed_runs_only_its_runs_and_what_reads_the_store(finished, mirror):
    jobs = planned(finished, mirror, {"mtaal": {"diversity": {"seeds": [1, 2, 3]}}})
    # the figures too: they read the store's MTAAL partition, which the new runs change
    assert jobs == runs("diversity", DIVERSITY_VARIANTS, 3) | {STORE, TABLES, FIGURES, TARGET_JOB}


def test_a_new_curves_seed_runs_only_its_runs_tables_and_figures(finished, mirror):
    # the tiny tier's curves name no variants: the papers' ones (those without model switches) run
    every = yaml.safe_load((finished / "config/config.yaml").read_text())["mtaal"]["variants"]
    variants = [name for name, spec in every.items() if not spec.get("model")]
    jobs = planned(finished, mirror, {"mtaal": {"seeds": [1, 2]}})
    assert jobs == runs("curves", variants, 2) | {STORE, TABLES, FIGURES, TARGET_JOB}


def test_a_table_setting_reruns_only_the_tables(finished, mirror):
    jobs = planned(finished, mirror, {"mtaal": {"report_after_round": {"ncbi_disease": 1}}})
    assert jobs == {TABLES, TARGET_JOB}


def test_a_model_setting_reruns_every_run_but_nothing_upstream(finished, mirror):
    jobs = planned(finished, mirror, {"mtaal": {"model": {"hidden": 8}}})
    assert {rule for rule, _ in jobs} == {"mtaal_run", STORE[0], TABLES[0], FIGURES[0], TARGET}
    assert len([job for job in jobs if job[0] == "mtaal_run"]) == 21 + 4 * 2


def test_a_setting_of_another_stage_plans_nothing(finished, mirror):
    assert planned(finished, mirror, {"multitask": {"training": {"epochs": 3}}}) == set()


# The corpus layer of the tiny tier, which the finished fixture built (word2vec reads every dataset).
CORPUS_TARGETS = [f"results/corpora/{name}/summary.json"
                  for name in ("ncbi_disease", "bc5cdr", "s800_species", "bc2gm_gene", "gellus_cellline")]


def edited_registry(workdir, corpus: str, old: str, new: str) -> dict:
    """A copy of the registry with ``old`` replaced by ``new`` once, inside ``corpus``'s entry only."""
    text = (workdir / "config/corpora.yaml").read_text()
    start = text.index(f"\n  {corpus}:\n")
    entry = text[start : text.index("\n    files: |", start)]  # its settings, up to its file list
    assert entry.count(old) == 1, f"{old!r} not once in {corpus}'s entry"
    edited = text[:start] + entry.replace(old, new) + text[start + len(entry) :]
    (workdir / "edited_corpora.yaml").write_text(edited)
    return {"corpus_registry": "edited_corpora.yaml"}


def test_an_edited_digest_reruns_that_corpus_download_and_its_dataset_only(finished, mirror):
    registry = (finished / "config/corpora.yaml").read_text()
    s800 = registry[registry.index("\n  s800:\n"):]
    line = next(row for row in s800.splitlines() if row.startswith("      abstracts/"))
    digest = line.split()[1]
    change = edited_registry_files(finished, line, line.replace(digest, "0" * 64))
    jobs = planned(finished, mirror, change, targets=CORPUS_TARGETS)
    assert jobs == {("download", "results/raw/s800/download.json"),
                    ("build_dataset", "results/corpora/s800_species/documents.parquet")}


def test_an_edited_patch_setting_rebuilds_that_dataset_only(finished, mirror):
    patch = "patches:\n      NCBItrainset_corpus.txt: NCBItrainset_corpus.patch"
    change = edited_registry(finished, "ncbi_disease", patch, "patches: {}")
    jobs = planned(finished, mirror, change, targets=CORPUS_TARGETS)
    assert jobs == {("build_dataset", "results/corpora/ncbi_disease/documents.parquet")}


def test_a_registry_edit_that_no_job_reads_plans_nothing(finished, mirror):
    # a corpus outside the tier, and a corpus's title (a label only)
    assert planned(finished, mirror, edited_registry(finished, "cll", "reader: cll", "reader: brat"),
                   targets=CORPUS_TARGETS) == set()
    assert planned(finished, mirror, edited_registry(finished, "bc5cdr", "title: BioCreative V CDR corpus",
                                                     "title: BC5CDR"), targets=CORPUS_TARGETS) == set()


def edited_registry_files(workdir, old_line: str, new_line: str) -> dict:
    text = (workdir / "config/corpora.yaml").read_text()
    assert text.count(old_line) == 1
    (workdir / "edited_corpora.yaml").write_text(text.replace(old_line, new_line))
    return {"corpus_registry": "edited_corpora.yaml"}
