"""A reproduction record: which runs a tier plans, adding finished runs, rebuilding from its store alone."""

import math
import platform

import pandas as pd
import pytest
import torch

from mtaal.cli import REPO_CONFIG, load_config
from mtaal.planning import MtaalRun
from mtaal.results import record as R
from mtaal.results.compare import load_reported
from mtaal.results.provenance import cpu_model

TIER = [REPO_CONFIG / "config.yaml", REPO_CONFIG / "tiers" / "paper.yaml",
        REPO_CONFIG / "tiers" / "reproduce-ncbi.yaml"]


@pytest.fixture(scope="module")
def config():
    return load_config(TIER)


def fake_run(results, run, f1s):
    """A finished run's rounds file as run_active_learning writes it (identity columns included)."""
    tasks = {"stl_ner": "ner", "stl_nen": "nen"}.get(run.variant.split("-")[0], "ner+nen")
    rows = [dict(paper="mtaal", experiment="curves", variant=run.variant, tier="reproduce-ncbi",
                 settings_hash="ab" * 8, available_sentences=6000, dataset=run.dataset,
                 embedding=run.embedding, tasks=tasks, strategy=run.variant.split("-")[-1], use_td=False,
                 use_dd=False, seed=run.seed, round=r, labeled_count=1434 + 64 * r, ner_f1=f1,
                 nen_f1=f1 if tasks != "ner" else math.nan, release_ner_f1_batch_mean=f1 + 0.05,
                 release_nen_token_accuracy_batch_mean=0.9 + f1 / 100, all_o_release_ner_f1_batch_mean=0.0,
                 task_loss=1.0, wall_seconds=1.0)
            for r, f1 in enumerate(f1s)]
    path = run.rounds_path(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path)
    bench = run.benchmark_path(results)
    bench.parent.mkdir(parents=True, exist_ok=True)
    bench.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
                     "1234.5\t0:20:34\t900.0\t1\t1\t1\t0\t0\t99\t1200.0\n")


def test_the_tier_plans_table_3_and_the_figure_runs_repeated_cells_first(config):
    runs = R.planned_runs(config)
    repeated = set(config["mtaal"]["curves"]["variant_seeds"])
    # The 8 multi-task Table 3 runs and the decisive experiment's 8 (3 variants x 2 embeddings, 2 variants
    # on GloVe alone) at seed 1, then at seeds 2 and 3, then the single-task and figure runs.
    assert [r.variant in repeated for r in runs] == [True] * 48 + [False] * 28
    assert [r.seed for r in runs[:48]] == [1] * 16 + [2] * 16 + [3] * 16
    table3 = {(r.variant, r.embedding, r.seed) for r in runs if r.variant in ("mtaal", "mtl-random")}
    assert {("mtaal", "glove", s) for s in (1, 2, 3)} <= table3
    assert {r.dataset for r in runs} == {"ncbi_disease"}
    release_vectors = {r.embedding for r in runs if r.variant.endswith("release_vectors")}
    assert release_vectors == {"glove"}
    assert len(runs) == len(set(runs)) == 16 * 3 + 8 * 2 + 6 * 2  # MT x 3 seeds, ST x 1, figures x 1
    assert runs[0] == MtaalRun("curves", "ncbi_disease", "glove", "mtaal", 1)


def test_add_then_rebuild_from_the_store_alone(config, tmp_path):
    results, record = tmp_path / "results", tmp_path / "record"
    first, second = R.planned_runs(config)[:2]
    fake_run(results, first, [0.0] + [0.5] * 25)
    assert R.add_runs(record, results, config) == [first.run_id]
    assert R.add_runs(record, results, config) == []  # already in the record: not added twice
    assert first not in R.missing_runs(record, config) and second in R.missing_runs(record, config)
    jobs = pd.read_csv(record / "jobs.tsv", sep="\t")
    assert jobs[["run_id", "wall_seconds", "rounds"]].values.tolist() == [[first.run_id, 1234.5, 25]]
    # the machine line names the CPU kernels, on which a run's floats depend
    assert f"torch {torch.backends.cpu.get_cpu_capability()}" in jobs["machine"].iat[0]
    assert (record / "provenance" / "config.yaml").is_file()

    import shutil

    shutil.rmtree(results)  # rebuilding needs nothing but the record
    reported = load_reported([REPO_CONFIG.parent / p for p in config["results"]["reported"]])
    comparison = R.rebuild(record, reported, config)
    assert set(comparison["table"]) == {"Table 3"} and set(comparison["dataset"]) == {"ncbi_disease"}
    cell = comparison[(comparison["row"] == "MTAAL+g") & (comparison["column"] == "MT / NER")].iloc[0]
    assert cell["status"] == "compared" and cell["mean"] == pytest.approx(0.55)  # the release metric
    assert cell["reported"] == pytest.approx(0.7744)
    reproduced = comparison[comparison["status"] == "compared"]
    assert sorted(reproduced["column"]) == ["MT / NEN", "MT / NER"]  # one multi-task run, both tasks
    assert reproduced["mean"].tolist() == pytest.approx([0.55, 0.905])
    assert (record / "figures" / "fig8_ablation.png").stat().st_size > 0
    cells = (record / "cells.md").read_text()
    assert "| MTAAL+g | MT / NER | 0.7744 | 0.550 (1) | 0.550 |  | one seed, -0.224 from print |" in cells
    assert "| LC+w | ST / NER | 0.7608 | – |" in cells  # not run yet, listed all the same
    status = (record / "STATUS.md").read_text()
    assert f"1 of {len(R.planned_runs(config))} planned runs" in status and f"- {second.run_id}" in status


def test_the_committed_record_s_runs_hash_as_their_config_says():
    # What a run writes (its metrics) is no part of its settings: a record's runs must not look stale when
    # runs come to write more columns, so every recorded hash comes back from the record's config.
    import yaml

    from mtaal.active.experiment import experiment_settings
    from mtaal.results.store import read_store

    record = REPO_CONFIG.parent / "reproductions" / "ncbi-paper-scale"
    mtaal = yaml.safe_load((record / "provenance" / "config.yaml").read_text())["mtaal"]
    runs = read_store(record / "store").drop_duplicates("run_id")
    assert len(runs) >= 11
    for run in runs.itertuples():
        settings = experiment_settings(run.dataset, run.model, mtaal["variants"][run.setting],
                                       mtaal[run.experiment], mtaal["model"], run.seed)
        assert settings.settings_hash() == run.settings_hash, run.run_id


def test_cpu_model_reads_cpuinfo_and_falls_back_when_it_is_missing(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU 9000\n")
    assert cpu_model(cpuinfo) == "Test CPU 9000"
    assert cpu_model(tmp_path / "absent") == (platform.processor() or "unknown CPU")


@pytest.mark.parametrize("record, tier", [("ncbi-paper-scale", "reproduce-ncbi.yaml"),
                                          ("bc5cdr-paper-scale", "reproduce-bc5cdr.yaml")])
def test_the_current_tier_plans_none_of_the_committed_record_s_runs_again(record, tier):
    # A record's run is never rerun: today's code and tier give each recorded run its recorded hash, and
    # the record lacks only runs the tier added.
    from mtaal.active.experiment import experiment_settings
    from mtaal.results.store import read_store

    config = load_config([*TIER[:2], REPO_CONFIG / "tiers" / tier])
    record = REPO_CONFIG.parent / "reproductions" / record
    mtaal = config["mtaal"]
    runs = read_store(record / "store").drop_duplicates("run_id")
    assert len(runs)
    for run in runs.itertuples():
        settings = experiment_settings(run.dataset, run.model, mtaal["variants"][run.setting],
                                       mtaal[run.experiment], mtaal["model"], run.seed)
        assert settings.settings_hash() == run.settings_hash, run.run_id
    assert set(runs["run_id"]) <= {run.run_id for run in R.planned_runs(config)}
