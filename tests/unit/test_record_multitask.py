"""A multitask reproduction record: the tier's runs in stages, adding finished runs once, rebuilding the
comparison of within-model differences, the claims and the figures from the record alone.

The runs are made from one real tiny training run (mtaal.multitask.experiment.run_multitask with
mtaal.multitask.model.tiny_encoder): each fake run is its best.json and epochs.parquet with the identity,
tasks and scores replaced by known ones, so the files have exactly the schema training writes."""

import copy
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mtaal.cli import REPO_CONFIG, load_config
from mtaal.corpora.registry import entity_type_of
from mtaal.errors import MtaalError
from mtaal.multitask.identity import run_identity
from mtaal.planning import planned_multitask_runs
from mtaal.results import record as R
from mtaal.results import record_multitask as M
from mtaal.results.compare import load_reported
from tests.corpus_tables import corpus_stats, wordpiece_stats

TIER_FILES = ["config/config.yaml", "config/tiers/paper.yaml", "config/tiers/reproduce-multitask.yaml"]
TIER = "reproduce-multitask"
# Known test word_io_f1 (the paper's metric) of the fake runs; strict word F1 is 0.05 below, entity 0.1.
STL0 = {"cll_cellline": 0.70, "cdr_chemical": 0.85, "linnaeus_species": 0.60, "s800_species": 0.65}
# cdr_chemical: a drop that is zero at the paper's three decimals, so without a sign
STL_DROP = {"cll_cellline": 0.10, "cdr_chemical": 0.0003, "linnaeus_species": 0.05, "s800_species": -0.01}
MTL_GAIN = {"cll_cellline": -0.05, "cdr_chemical": 0.01, "linnaeus_species": 0.03, "s800_species": -0.02}
MTL_DROP = 0.03
FINETUNE = {
    0.0: {"cll_cellline": -0.04, "linnaeus_species": 0.02, "s800_species": 0.01},
    0.5: {"cll_cellline": -0.02, "linnaeus_species": 0.04, "s800_species": 0.03},
}
SUBWORDS = {"cll_cellline": 7000, "linnaeus_species": 20000, "cdr_chemical": 90000, "s800_species": 60000}


@pytest.fixture(scope="module")
def config():
    return load_config([REPO_CONFIG.parent / f for f in TIER_FILES])


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One real finished single-task run of a tiny encoder: (best.json, epochs frame)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mtaal.multitask.experiment import run_multitask
    from mtaal.multitask.model import tiny_encoder
    from mtaal.multitask.wordpiece import METADATA_KEY

    tmp = tmp_path_factory.mktemp("template")
    tiny_encoder(seed=1).save_pretrained(tmp / "encoder")
    tags, rng, tokens, sequences = ["O", "B-x", "I-x"], np.random.default_rng(0), [], []
    for split in ("train", "dev", "test"):  # one subword per word, one sequence per document
        for d in range(4):
            doc, n_words = f"{split}{d}", int(rng.integers(3, 7))
            words = ["B-x" if w == 1 else "O" for w in range(n_words)]
            tokens += [
                {"split": split, "doc_id": doc, "sentence": 0, "position": w, "token": f"w{w}", "tag": tag}
                for w, tag in enumerate(words)
            ]
            ids = [int(rng.integers(40, 64)) if t != "O" else int(rng.integers(5, 40)) for t in words]
            sequences.append(
                {
                    "split": split,
                    "doc_id": doc,
                    "sequence": 0,
                    "input_ids": [2, *ids, 3],
                    "labels": [-100, *(tags.index(t) for t in words), -100],
                    "word_index": [-1, *range(n_words), -1],
                }
            )
    table = pa.Table.from_pylist(sequences).replace_schema_metadata(
        {METADATA_KEY: json.dumps({"tags": tags})}
    )
    pq.write_table(table, tmp / "toy.parquet")
    pd.DataFrame(tokens).to_parquet(tmp / "toy_tokens.parquet")
    names = {
        "experiment": "stl",
        "group": "toy",
        "encoder": "tiny",
        "tier": "test",
        "entity_types": {"toy": "gene"},
    }
    training = {
        "epochs": 2,
        "batch_size": 2,
        "eval_batch_size": 4,
        "learning_rate": 1e-3,
        "device": "cpu",
        "bucket_pool_batches": 1,
        "num_threads": 1,
    }
    run_multitask(
        {"toy": (tmp / "toy.parquet", tmp / "toy_tokens.parquet")},
        training,
        str(tmp / "encoder"),
        tmp / "run",
        identity=names,
        seed=1,
        ablation_fraction=0.0,
        max_train_sequences=None,
        max_eval_sequences=None,
    )
    return json.loads((tmp / "run/best.json").read_text()), pd.read_parquet(tmp / "run/epochs.parquet")


def known(experiment, task, fraction):
    if experiment == "mtl":
        return STL0.get(task, 0.5) + MTL_GAIN.get(task, 0.0) - (MTL_DROP if fraction else 0.0)
    if experiment == "mtl_without":
        return 0.4
    stl = STL0[task] - (STL_DROP[task] if fraction else 0.0)
    if experiment == "finetune":
        return stl + FINETUNE[fraction][task]
    return stl


def scores(word_io):
    return {
        "word_io_precision": word_io,
        "word_io_recall": word_io,
        "word_io_f1": word_io,
        "word_precision": word_io - 0.05,
        "word_recall": word_io - 0.05,
        "word_f1": word_io - 0.05,
        "entity_precision": word_io - 0.1,
        "entity_recall": word_io - 0.1,
        "entity_f1": word_io - 0.1,
    }


def fake_run(template, results, run: M.MultitaskRun, tasks, tier=TIER):
    """``run``'s best.json and epochs.parquet made from the template run, with known scores, and its
    Snakemake benchmark line."""
    best, epochs = copy.deepcopy(template[0]), template[1]
    fraction = float(run.fraction)
    names = dict(
        experiment=run.experiment,
        group=run.group,
        encoder=run.encoder,
        tier=tier,
        entity_types={t: entity_type_of(t) for t in tasks},
    )
    best["identity"] = run_identity(
        names,
        list(tasks),
        {"epochs": 2},
        "minilm",
        seed=run.seed,
        ablation_fraction=fraction,
        max_train_sequences=None,
        max_eval_sequences=40,
        fine_tuned=run.experiment == "finetune",
        save_encoder=run.experiment == "mtl_without",
        encoder_revision=None,
        packing="stream",
        max_train_subwords=50000,
    )
    (task_entry,), (data_entry,) = best["tasks"].values(), best["data"].values()
    best["tasks"], best["data"], rows = {}, {}, []
    for task in tasks:
        test = scores(known(run.experiment, task, fraction))
        best["tasks"][task] = {**task_entry, "best_epoch": 1, "dev": scores(0.5), "test": test}
        best["data"][task] = {**data_entry, "ablation_fraction": fraction}
        for row in epochs.to_dict("records"):
            values = test if row["split"] == "test" else scores(0.5 if row["epoch"] == 1 else 0.4)
            rows.append(
                {
                    **row,
                    **values,
                    "task": task,
                    "entity_type": entity_type_of(task),
                    **{
                        k: best["identity"][k]
                        for k in (
                            "experiment",
                            "group",
                            "encoder",
                            "seed",
                            "ablation_fraction",
                            "tier",
                            "settings_hash",
                        )
                    },
                }
            )
    best["best_epoch"], best["ablation_fraction"] = 1, fraction
    folder = run.best_path(results).parent
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "best.json").write_text(json.dumps(best))
    pd.DataFrame(rows).to_parquet(folder / "epochs.parquet")
    bench = run.benchmark_path(results)
    bench.parent.mkdir(parents=True, exist_ok=True)
    bench.write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        "1234.5\t0:20:34\t900.0\t1\t1\t1\t0\t0\t99\t1200.0\n"
    )


def tables(results, config):
    """The corpus tables the report reads beside the store (results/tables/), for add to copy."""
    folder = results / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    density = {task: 0.01 * (i + 1) for i, task in enumerate(STL0)}
    corpus_stats(density).to_parquet(folder / "corpus_stats.parquet")
    for encoder in config["multitask"]["wordpiece_encoders"]:
        wordpiece_stats(encoder, SUBWORDS, dict.fromkeys(SUBWORDS, 100), train_subwords=SUBWORDS,
                        packing_counts=True).to_parquet(folder / f"wordpiece_{encoder}.parquet")


def run_of(config, experiment, group, fraction):
    return M.MultitaskRun(config["multitask"]["encoder"], experiment, group, f"{fraction:g}", 1)


@pytest.fixture(scope="module")
def results(tmp_path_factory, template, config):
    """A results folder with finished runs: MTL over all 16 tasks at 0 and 0.5, STL and fine-tuning of
    four / three tasks at both, MTL without cell lines; and the corpus tables."""
    root = tmp_path_factory.mktemp("checkout") / "results"
    from mtaal.corpora.registry import default_registry
    from mtaal.planning import huner_tasks

    tasks = huner_tasks(config, default_registry())
    for fraction in (0.0, 0.5):
        fake_run(template, root, run_of(config, "mtl", "all", fraction), tasks)
        for task in STL0:
            fake_run(template, root, run_of(config, "stl", task, fraction), [task])
        for task in FINETUNE[fraction]:
            fake_run(template, root, run_of(config, "finetune", task, fraction), [task])
    without = [t for t in tasks if entity_type_of(t) != "cell_line"]
    fake_run(template, root, run_of(config, "mtl_without", "cell_line", 0.0), without)
    tables(root, config)
    return root


def test_the_record_plans_the_tier_s_runs_in_stages(config, tmp_path):
    from mtaal.corpora.registry import default_registry

    planned = M.planned_runs(config, {t: n for t, n in SUBWORDS.items()})
    assert {str(r.best_path()) for r in planned} == set(planned_multitask_runs(config, default_registry()))
    assert len(planned) == 48
    stages = [r.stage for r in planned]
    assert stages == sorted(stages) and stages.count("S1") == stages.count("S2") == 17
    s1 = [r for r in planned if r.stage == "S1"]
    # the longest first, then STL by training subwords (capped at the 50k budget, where a task of unknown
    # size counts too; ties in config order)
    assert s1[0].key == "mtl/minilm__all__ablation0__seed1"
    assert [r.group for r in s1[1:5]] == [
        "cll_cellline",
        "linnaeus_species",
        "jnlpba_cellline",
        "cdr_chemical",
    ]
    s2 = [r for r in planned if r.stage == "S2"]
    assert s2[0].experiment == "mtl" and {r.fraction for r in s2} == {"0.5"}
    s3 = [r for r in planned if r.stage == "S3"]
    assert [r.key for r in s3[:2]] == [
        "mtl_without/minilm__cell_line__ablation0__seed1",
        "mtl_without/minilm__species__ablation0__seed1",
    ]
    assert [r.fraction for r in s3[2:]] == ["0"] * 6 + ["0.5"] * 6
    assert s3[2].group == "cll_cellline" and s3[3].group == "linnaeus_species"  # smallest first


def test_add_records_each_run_once_with_its_job_line(config, results, template, tmp_path):
    record = tmp_path / "record"
    before = M.missing_runs(record, config, results)
    assert before[1].group == "cll_cellline"  # sizes from results/tables until the record has them
    added, refused = M.add_runs(record, results, config)
    assert len(added) == 2 + 8 + 6 + 1 and refused == []
    assert M.add_runs(record, results, config) == ([], [])  # in the record: never added again
    missing = M.missing_runs(record, config, results)
    assert len(missing) == 48 - len(added) and not {r.key for r in missing} & set(added)
    assert [r.key for r in missing] == [r.key for r in before if r.key not in added]  # order kept
    jobs = pd.read_csv(record / "jobs.tsv", sep="\t")
    line = jobs.set_index("run_id").loc["stl/minilm__cll_cellline__ablation0.5__seed1"]
    assert (
        line["stage"],
        line["wall_seconds"],
        line["cpu_seconds"],
        line["max_rss_mb"],
        line["epochs"],
        line["tier"],
    ) == ("S2", 1234.5, 1200.0, 900.0, 2, TIER)
    assert line["machine"] and line["commit"]
    # every sitting's epochs count (the benchmark's wall covers a resumed run's last sitting only)
    epochs = pd.read_parquet(results / "multitask/minilm/stl/cll_cellline/ablation0.5/seed1/epochs.parquet")
    assert line["epoch_seconds"] == pytest.approx(epochs.drop_duplicates("epoch")["seconds"].sum(), abs=0.01)
    assert line["epoch_seconds"] > 0
    assert (record / "provenance" / "config.yaml").is_file()
    assert (record / "inputs" / "wordpiece_minilm.parquet").is_file()
    assert (record / "inputs" / "wordpiece_biobert_vocab.parquet").is_file()
    # a run of another tier in the same place is left out, with the reason
    other = tmp_path / "other" / "results"
    fake_run(template, other, run_of(config, "mtl_without", "species", 0.0), ["iepa_gene"], tier="default")
    added, refused = M.add_runs(record, other, config)
    assert added == [] and refused == [
        f"mtl_without/minilm__species__ablation0__seed1: a run of tier default, not {TIER}"
    ]


def test_rebuild_judges_within_model_deltas_from_the_record_alone(config, results, tmp_path):
    record = tmp_path / "record"
    M.add_runs(record, results, config)
    (record / R.RECORD_FILE).write_text(
        (REPO_CONFIG.parent / "reproductions" / "multitask-cpu" / R.RECORD_FILE).read_text()
    )
    copied = tmp_path / "gone"
    shutil.copytree(results, copied)
    shutil.rmtree(results)  # rebuilding needs nothing but the record
    try:
        reported = load_reported([REPO_CONFIG.parent / p for p in config["results"]["reported"]])
        deltas = M.rebuild(record, reported, config).set_index(["delta", "task"])
    finally:
        shutil.copytree(copied, results)
    # a record that plans STL alone (the steps control) shows only the deltas STL runs can give
    from mtaal.results.record_deltas import delta_table
    from mtaal.results.store import read_store

    only_stl = delta_table(read_store(record / "store"), reported, ["cll_cellline"], [0.0, 0.5],
                           {"cll_cellline": "cell_line"}, None, {"stl"})
    assert only_stl["delta"].tolist() == ["stl_drop_0.5"] and only_stl["ours"].notna().all()
    printed = reported[(reported["paper"] == "multitask") & (reported["metric"] == "word_io_f1")]

    def cell(table, column, task):
        return printed[
            (printed["table"] == table) & (printed["column"] == column) & (printed["dataset"] == task)
        ]["value"].item()

    mtl = deltas.loc["mtl_minus_stl"]
    compared = mtl[mtl["status"] == "compared"]
    assert set(compared.index) == set(STL0)
    for task in STL0:
        assert compared.at[task, "ours"] == pytest.approx(MTL_GAIN[task])
        assert compared.at[task, "ours_word_strict"] == pytest.approx(MTL_GAIN[task])
        assert compared.at[task, "paper"] == pytest.approx(
            cell("Table 3", "F_1 / TEST", task) - cell("Table 3", "F_1 / STL", task)
        )
    same = sum(np.sign(MTL_GAIN[t]) == np.sign(compared.at[t, "paper"]) for t in STL0)
    summary = pd.read_parquet(record / "deltas_summary.parquet").set_index("delta")
    assert summary.at["mtl_minus_stl", "same_sign"] == same == 3  # linnaeus: MTL ahead here, behind in print
    assert summary.at["mtl_minus_stl", "n"] == 4 and summary.at["mtl_minus_stl", "tasks_planned"] == 16
    rho = stats.spearmanr([MTL_GAIN[t] for t in STL0], [compared.at[t, "paper"] for t in STL0]).statistic
    assert summary.at["mtl_minus_stl", "spearman_rho"] == pytest.approx(rho)
    # exact permutation p over the n! pairings, never the t approximation's 0 at a handful of tasks
    assert summary.at["mtl_minus_stl", "spearman_p"] >= 2 / math.factorial(len(STL0))
    drop = deltas.loc["stl_drop_0.5"]
    assert drop.at["s800_species", "ours"] == pytest.approx(-0.01)
    assert drop.at["s800_species", "paper"] == pytest.approx(
        cell("Table 4", "Ablation amount / 0.00", "s800_species")
        - cell("Table 4", "Ablation amount / 0.50", "s800_species")
    )
    assert drop.at["cdr_chemical", "ours"] == pytest.approx(0.0003)
    assert drop.at["cdr_chemical", "status"] == "compared"
    assert pd.isna(drop.at["cdr_chemical", "same_sign"])  # no sign at three decimals: not counted either way
    assert summary.at["stl_drop_0.5", "n"] == 4 and summary.at["stl_drop_0.5", "signed"] == 3
    assert "no sign at three decimals" in (record / "deltas.md").read_text()
    assert deltas.loc["mtl_drop_0.5"].at["cdr_chemical", "ours"] == pytest.approx(MTL_DROP)
    finetune = deltas.loc["finetune_minus_stl_0.5"]
    assert len(finetune) == 6  # the cell-line and species tasks only
    assert finetune.at["linnaeus_species", "ours"] == pytest.approx(0.04)
    assert finetune.at["linnaeus_species", "paper"] == pytest.approx(
        cell("Table 6", "Ablation amount / 0.50", "linnaeus_species")
        - cell("Table 4", "Ablation amount / 0.50", "linnaeus_species")
    )
    assert finetune.at["jnlpba_cellline", "status"] == "not yet run"
    # absolute cells: shown, flagged as another model's
    comparison = pd.read_parquet(record / "comparison.parquet")
    stl = comparison[
        (comparison["table"] == "Table 2")
        & (comparison["column"] == "F_1 / TEST")
        & (comparison["dataset"] == "cll_cellline")
    ].iloc[0]
    assert stl["mean"] == pytest.approx(0.70) and stl["judgement"].startswith("different model (minilm")
    # an average row is over every task the paper averaged (cell lines: CLL, GELLUS, JNLPBA), and says so
    average = comparison[
        (comparison["table"] == "Table 2")
        & (comparison["column"] == "F_1 / TEST")
        & (comparison["dataset"] == "group:cell_line")
    ].iloc[0]
    assert average["units"] == "1 of 3 tasks" and average["mean"] == pytest.approx(0.70)
    assert "0.700 (1 of 3 tasks) / 0.852" in (record / "comparison.md").read_text()
    # claims: the record's set, claim 13 on three fine-tuned tasks
    claims = pd.read_parquet(record / "claims.parquet")
    assert sorted(set(claims["claim_id"])) == [7, 8, 9, 10, 11, 13]
    mine = claims[(claims["claim_id"] == 13) & (claims["basis"] == "our runs")].iloc[0]
    assert mine["n"] == 3 and mine["effect"] == pytest.approx(np.mean([(-0.04 - 0.02) / 2, 0.03, 0.02]))
    for name in ("fig4_stl_correlation", "fig5_entity_ablation", "fig6_finetune", "fig_deltas"):
        assert (record / "figures" / f"{name}.png").stat().st_size > 0
    assert (record / "report" / "table6_finetune.md").is_file()
    status = (record / "STATUS.md").read_text()
    assert "17 of 48 planned runs" in status and "| S1 |" in status and "~19 (~10 h)" in status
    assert "- S3 mtl_without/minilm__species__ablation0__seed1" in status
    assert "MTL - STL (ablation 0): 3 of 4 tasks share the paper's sign" in status
    assert "| MTL - STL (ablation 0) | cll_cellline |" in (record / "cells.md").read_text()


def test_a_record_refuses_a_config_of_another_tier(tmp_path):
    (tmp_path / R.RECORD_FILE).write_text(
        "paper: multitask\ntier: reproduce-multitask\nconfigs: [config/config.yaml]\n"
    )
    with pytest.raises(MtaalError, match="records tier reproduce-multitask, the config gives tier default"):
        R.check_tier(tmp_path, {"tier": "default"})
    assert R.record_spec(tmp_path / "absent")["paper"] == "mtaal"  # a record without record.yaml


@pytest.mark.parametrize(
    ("name", "configs", "planned", "stages"),
    [("multitask-cpu", TIER_FILES, 48, ["S1", "S2", "S3"]),
     ("multitask-cpu-steps", [*TIER_FILES, "config/tiers/reproduce-multitask-steps.yaml"], 2, ["S1", "S2"])],
)
def test_each_committed_record_names_configs_that_give_its_tier(name, configs, planned, stages):
    record = REPO_CONFIG.parent / "reproductions" / name
    spec = R.record_spec(record)
    assert spec["paper"] == "multitask" and spec["configs"] == configs
    assert load_config([REPO_CONFIG.parent / f for f in spec["configs"]])["tier"] == spec["tier"]
    status = (record / "STATUS.md").read_text()  # as `mtaal record rebuild` wrote it
    assert status.startswith(f"# Record status: {len(R.recorded_ids(record))} of {planned} planned runs")
    # a row per stage the tier plans, with the record's own predicted hours
    rows = [line for line in status.splitlines() if line.startswith("| S")]
    assert [row.split(" | ")[0].strip("| ") for row in rows] == stages
    for row, stage in zip(rows, stages, strict=True):
        core, wall = spec["predicted_hours"][stage]
        assert f"~{core} (~{wall} h)" in row


@pytest.mark.parametrize("name", ["multitask-cpu", "multitask-cpu-steps"])
def test_the_current_tier_gives_each_committed_run_its_recorded_settings_hash(name):
    # A record's run is never rerun: what the rules would pass today hashes to what each run recorded.
    from mtaal.corpora.registry import default_registry
    from mtaal.planning import task_entity
    from mtaal.results.store import read_store

    record = REPO_CONFIG.parent / "reproductions" / name
    config = load_config([REPO_CONFIG.parent / f for f in R.record_spec(record)["configs"]])
    settings = config["multitask"]
    model = settings["encoders"][settings["encoder"]]
    registry = default_registry()
    store = read_store(record / "store")
    runs = store.drop_duplicates("run_id")
    assert len(runs)
    for run in runs.itertuples():
        experiment, group = run.setting.split("/")
        tasks = sorted(store.loc[store["run_id"] == run.run_id, "dataset"].unique())
        names = {"experiment": experiment, "group": group, "encoder": settings["encoder"],
                 "tier": config["tier"], "entity_types": {t: task_entity(registry, t) for t in tasks}}
        identity = run_identity(
            names, tasks, settings["training"], model["model"], seed=run.seed,
            ablation_fraction=run.ablation_fraction, max_train_sequences=settings["max_train_sequences"],
            max_eval_sequences=settings["max_eval_sequences"],
            max_train_subwords=settings.get("max_train_subwords"), fine_tuned=experiment == "finetune",
            save_encoder=experiment == "mtl_without", encoder_revision=model.get("revision"),
            packing=settings.get("packing", "stream"),
        )
        assert identity["settings_hash"] == run.settings_hash, run.run_id
    assert {f"{s.split('/')[0]}/{r}" for s, r in zip(runs["setting"], runs["run_id"], strict=True)} <= {
        r.key for r in M.planned_runs(config)}


def test_progress_says_where_each_missing_run_stands(config, results, tmp_path):
    # STATUS.md is built from the record alone; progress also reads results/ and the epoch checkpoints.
    import torch

    from mtaal.multitask.run_files import write_resume_state
    from mtaal.planning import checkpoint_location

    record = tmp_path / "record"  # empty: every run under `results` is finished but not added
    config = {**config, "checkpoint_dir": str(tmp_path / "checkpoints")}
    part_way = run_of(config, "stl", "bc2gm_gene", 0.0)  # not under `results`
    relative = part_way.best_path("results").parent.relative_to("results")
    checkpoint = Path(checkpoint_location(config, f"{relative}/checkpoint.safetensors", results))
    checkpoint.parent.mkdir(parents=True)
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters())
    rows = [{"epoch": e, "split": split, "task": "bc2gm_gene", "word_io_f1": f1}
            for e, f1 in ((1, 0.0), (2, 0.3), (3, 0.2)) for split in ("dev", "test")]
    rows[-1]["word_io_f1"] = 0.9  # test scores are not what progress reports
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    write_resume_state(checkpoint, "fp", 3, model, optimizer, scheduler, torch.device("cpu"), rows, 2)
    state = dict(line.split(": ", 1) for line in M.progress(record, config, results))
    assert list(state) == [f"{r.stage} {r.key}" for r in M.missing_runs(record, config)]
    assert state["S1 stl/minilm__bc2gm_gene__ablation0__seed1"] == (
        f"epoch 3 of 20 done, mean dev word F1 0.200 (best epoch 2); resumes from {checkpoint}")
    assert state["S1 stl/minilm__jnlpba_cellline__ablation0__seed1"] == "not started"
    finished = results / "multitask/minilm/stl/cll_cellline/ablation0.5/seed1/best.json"
    assert state["S2 stl/minilm__cll_cellline__ablation0.5__seed1"] == (
        f"finished ({finished}), not yet in the record: mtaal record add")
