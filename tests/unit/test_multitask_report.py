"""Multitask report: fake run directories with known scores -> the results store -> the paper's tables and
figures."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mtaal.corpora.registry import default_registry, entity_type_of
from mtaal.multitask.data import n_kept
from mtaal.multitask.identity import SKIP_REASONS, run_identity
from mtaal.results import multitask_report as report
from mtaal.results.multitask_report import write_report
from mtaal.results.multitask_report.runs import SCORE_COLUMNS, scores_from_store
from mtaal.results.multitask_report.tables import (
    TABLE3_COLUMNS,
    ablation_table,
    paired_tests,
    table1_mentions,
    table2_stl,
)
from mtaal.results.store import partition_path, read_store, write_store
from tests.corpus_tables import CORPUS_SPLITS, corpus_stats, wordpiece_stats

ENCODER = "minilm"
REGISTRY_TYPES = default_registry().entity_types()  # the test config's registry (config/corpora.yaml)
TASKS = {"cll_cellline": 0.60, "cdr_chemical": 0.80, "bc2gm_gene": 0.70}  # STL test word F1 at ablation 0
TRAIN_TOTAL = {"cll_cellline": 100, "cdr_chemical": 900, "bc2gm_gene": 1200}
MTL_GAIN = {"cll_cellline": 0.06, "cdr_chemical": -0.01, "bc2gm_gene": 0.03}
FINETUNE_GAIN = 0.02
WITHOUT_GENE_CHANGE = -0.04
FRACTIONS = (0.0, 0.5)
SEEDS = (1, 2)
SEED_SHIFT = {1: 0.01, 2: -0.01}
METRICS = ("word_precision", "word_recall", "word_f1", "entity_precision", "entity_recall", "entity_f1")


def known_f1(experiment: str, task: str, fraction: float, seed: int) -> float:
    """The known test word F1 of every fake run."""
    value = TASKS[task] - 0.1 * fraction + SEED_SHIFT[seed]
    if experiment == "mtl":
        value += MTL_GAIN[task]
    elif experiment == "finetune":
        value += FINETUNE_GAIN
    elif experiment == "mtl_without":
        value += MTL_GAIN[task] + WITHOUT_GENE_CHANGE
    return value


def metrics(word_f1: float) -> dict:
    return {
        "word_precision": word_f1 + 0.02,
        "word_recall": word_f1 - 0.02,
        "word_f1": word_f1,
        "entity_precision": word_f1 - 0.03,
        "entity_recall": word_f1 - 0.07,
        "entity_f1": word_f1 - 0.05,
    }


def run_dir(root: Path, experiment: str, group: str, fraction: float, seed: int) -> Path:
    path = (
        root
        / "results"
        / "multitask"
        / ENCODER
        / experiment
        / group
        / f"ablation{fraction:g}"
        / f"seed{seed}"
    )
    path.mkdir(parents=True)
    return path


def identity(experiment, group, fraction, seed, tasks) -> dict:
    names = dict(experiment=experiment, group=group, encoder=ENCODER, tier="test",
                 entity_types={t: entity_type_of(t) for t in tasks})
    return run_identity(names, list(tasks), {"epochs": 4}, "minilm", seed=seed, ablation_fraction=fraction,
                        max_train_sequences=None, max_eval_sequences=None,
                        fine_tuned=experiment == "finetune", save_encoder=experiment == "mtl_without",
                        encoder_revision=None)


def write_run(root, experiment, group, fraction, seed, tasks, skipped_tasks=()) -> Path:
    """A finished run as mtaal.multitask.training + experiment write it: best.json and epochs.parquet."""
    path = run_dir(root, experiment, group, fraction, seed)
    best_epoch = 2 + seed  # 3 or 4
    per_task, data, rows = {}, {}, []
    for task in tasks:
        kept = n_kept(TRAIN_TOTAL[task], fraction)
        test = metrics(known_f1(experiment, task, fraction, seed))
        dev = {m: v + 0.01 for m, v in test.items()}
        per_task[task] = {"train_sequences": kept, "dev": dev, "test": test}
        data[task] = {
            "train_total": TRAIN_TOTAL[task],
            "train_kept": kept,
            "ablation_fraction": fraction,
            "dev": 10,
            "test": 10,
            "tags": ["O", "B-x", "I-x"],
        }
        for epoch in range(1, 5):
            for split, scores in (("dev", dev), ("test", test)):
                rows.append(
                    {
                        "epoch": epoch,
                        "task": task,
                        "split": split,
                        **scores,
                        "words": 50,
                        "train_loss": 0.1,
                        "train_batches": 3,
                        "train_sequences": kept,
                        "train_seconds": 1.0,
                        "seconds": 1.5,
                    }
                )
    mean = {
        split: {m: float(np.mean([per_task[t][split][m] for t in tasks])) for m in METRICS}
        for split in ("dev", "test")
    }
    best = {
        "best_epoch": best_epoch,
        "selection": "mean dev word_f1 over tasks",
        "mean": mean,
        "tasks": per_task,
        "epochs_run": 4,
        "ablation_fraction": fraction,
        "data": data,
        "status": "trained",
        "skipped_tasks": list(skipped_tasks),
        "identity": identity(experiment, group, fraction, seed, [*tasks, *skipped_tasks]),
    }
    (path / "best.json").write_text(json.dumps(best))
    pd.DataFrame(rows).to_parquet(path / "epochs.parquet")
    return path


def write_skipped(root, experiment, group, fraction, seed, skipped_tasks=(), tasks=()) -> Path:
    path = run_dir(root, experiment, group, fraction, seed)
    record = {
        "status": "skipped",
        "reason": SKIP_REASONS["no_training_data"],
        "skipped_tasks": list(skipped_tasks),
        "identity": identity(experiment, group, fraction, seed, [*tasks, *skipped_tasks]),
    }
    (path / "best.json").write_text(json.dumps(record))
    pd.DataFrame({"epoch": pd.Series([], dtype="int32"), "task": pd.Series([], dtype="str")}).to_parquet(
        path / "epochs.parquet"
    )
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("runs")
    runs = []
    for fraction in FRACTIONS:
        for seed in SEEDS:
            runs += [write_run(tmp_path, "stl", t, fraction, seed, [t]) for t in TASKS]
            runs.append(write_run(tmp_path, "mtl", "all", fraction, seed, list(TASKS), ["s800_species"]))
            runs.append(write_run(tmp_path, "finetune", "bc2gm_gene", fraction, seed, ["bc2gm_gene"]))
            runs.append(write_skipped(tmp_path, "stl", "s800_species", fraction, seed, ["s800_species"]))
    for seed in SEEDS:
        runs.append(
            write_run(
                tmp_path, "mtl_without", "gene", 0.0, seed, ["cll_cellline", "cdr_chemical"], ["s800_species"]
            )
        )
        runs.append(write_skipped(tmp_path, "mtl_without", "species", 0.0, seed, tasks=list(TASKS)))
    density = {"cll_cellline": 0.048, "cdr_chemical": 0.044, "bc2gm_gene": 0.046, "s800_species": 0.02}
    mentions = {(t, s): 10 * (i + 1) + j for i, t in enumerate(density) for j, s in enumerate(CORPUS_SPLITS)}
    mtaal_row = {"dataset": "ncbi_disease", "paper": "mtaal", "split": "train", "documents": 1,
                 "sentences": 1, "tokens": 1, "mentions": 1, "unique_mentions": 1, "annotation_density": 1.0,
                 "vocabulary_size": 1, "ner_labels": 3, "nen_labels": 1, "problems": 0}
    corpus = pd.concat([corpus_stats(density, lambda t, s: mentions[t, s]), pd.DataFrame([mtaal_row])],
                       ignore_index=True)
    corpus_path = tmp_path / "corpus_stats.parquet"
    corpus.to_parquet(corpus_path)
    sequences = wordpiece_stats("minilm", TASKS, {t: 2 * TRAIN_TOTAL[t] for t in TASKS},
                                train_subwords=dict.fromkeys(TASKS, 500), max_len=64)
    sequence_path = tmp_path / "wordpiece_minilm.parquet"
    sequences.to_parquet(sequence_path)
    out = tmp_path / "results" / "multitask" / ENCODER / "report"
    write_store(tmp_path / "results" / "store", [], runs)
    store = partition_path(tmp_path / "results" / "store", "multitask")  # what the report reads
    return runs, store, corpus_path, sequence_path, out


@pytest.fixture(scope="module")
def written(inputs):
    _, store, corpus_path, sequence_path, out = inputs
    write_report(store, corpus_path, sequence_path, out, ENCODER, REGISTRY_TYPES)
    return out


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(out / f"{name}.parquet")


def task_row(table, task, **where):
    rows = table[(table["level"] == "task") & (table["task"] == task)]
    for column, value in where.items():
        rows = rows[rows[column].isna()] if value is None else rows[rows[column] == value]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# -------------------------------------------------------------------------------- runs via the store


def scores_from_best_json(run_dirs) -> pd.DataFrame:
    """What the report needs, read straight from each run's best.json (no store): the reference the
    store's score frame must equal."""
    rows = []
    for run in run_dirs:
        record = json.loads((run / "best.json").read_text())
        who = record["identity"]
        base = {"encoder": who["encoder"], "experiment": who["experiment"], "group": who["group"],
                "fraction": who["ablation_fraction"], "seed": who["seed"]}
        if record["status"] == "skipped":
            tasks = record["skipped_tasks"] or (who["tasks"] if len(who["tasks"]) == 1 else [None])
            rows += [{**base, "task": t, "status": "skipped", "reason": record["reason"]} for t in tasks]
            continue
        rows += [{**base, "task": t, "status": "skipped", "reason": "no training data (corpus skipped)"}
                 for t in record["skipped_tasks"]]
        for task, entry in record["tasks"].items():
            data = record["data"][task]
            rows += [
                {**base, "task": task, "status": "trained", "split": split,
                 "best_epoch": record["best_epoch"], "epochs_run": record["epochs_run"],
                 "train_sequences": entry["train_sequences"],
                 "train_total": data["train_total"], "train_kept": data["train_kept"],
                 "task_ablation_fraction": data["ablation_fraction"], **entry[split]}
                for split in ("dev", "test")
            ]
    frame = pd.DataFrame(rows).reindex(columns=list(SCORE_COLUMNS))
    frame["entity_type"] = [who_type(t) for t in frame["task"]]
    return frame.astype(SCORE_COLUMNS)


def who_type(task):
    return entity_type_of(task) if isinstance(task, str) else None


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["experiment", "group", "fraction", "seed", "status", "task", "split"]
    return frame.sort_values(keys, na_position="first", ignore_index=True)


def test_store_gives_the_report_what_best_json_says(inputs):
    runs, store, *_ = inputs
    from_store = scores_from_store(read_store([store]), ENCODER)
    expected = scores_from_best_json(runs)
    assert len(from_store) == len(expected) > 0
    pd.testing.assert_frame_equal(canonical(from_store), canonical(expected))


def test_report_keeps_its_encoders_runs_only(inputs):
    _, store, *_ = inputs
    assert scores_from_store(read_store([store]), "biobert").empty
    with pytest.raises(ValueError, match="several encoders"):
        scores_from_store(read_store([store]).assign(model=lambda f: np.where(f["seed"] == 1, "a", "b")))


def test_entity_types_are_the_runs_not_the_registrys(inputs):
    _, store, corpus_path, *_ = inputs
    rows = read_store([store])
    rows.loc[rows["dataset"] == "cdr_chemical", "entity_type"] = "widget"  # as a run's own registry says
    scores = scores_from_store(rows, ENCODER)
    averages = table2_stl(scores).query("level == 'entity_type'")
    assert set(averages["entity_type"]) == {"cell_line", "gene", "widget"}
    stl = ablation_table(scores, "stl").query("level == 'entity_type' and fraction == 0")
    assert stl.set_index("entity_type")["train_total"].to_dict() == {
        "cell_line": TRAIN_TOTAL["cll_cellline"], "gene": TRAIN_TOTAL["bc2gm_gene"],
        "widget": TRAIN_TOTAL["cdr_chemical"]}
    corpus = pd.read_parquet(corpus_path)
    runless = corpus[corpus["dataset"] == "cll_cellline"].assign(dataset="linnaeus_species")
    # a task without runs: the config's registry's type (here not the repository's "species")
    table1 = table1_mentions(pd.concat([corpus, runless]), scores,
                             {**REGISTRY_TYPES, "linnaeus_species": "organism", "cdr_chemical": "gene"})
    assert set(table1.loc[table1["task"] == "cdr_chemical", "entity_type"]) == {"widget"}
    assert set(table1.loc[table1["task"] == "linnaeus_species", "entity_type"]) == {"organism"}


def test_skipped_runs_and_tasks_are_rows_marked_skipped(inputs):
    scores = scores_from_store(read_store([inputs[1]]), ENCODER)
    skipped = scores[scores["status"] == "skipped"]
    assert set(skipped["task"].dropna()) == {"s800_species"}
    assert skipped[skipped["experiment"] == "mtl_without"]["group"].tolist().count("species") == 2
    assert skipped[["word_f1", "split"]].isna().all().all()


# -------------------------------------------------------------------------------- tables


def test_every_output_file_is_written(written):
    assert sorted(p.name for p in written.iterdir() if not p.name.startswith(".")) == report.output_files()
    for name in report.FIGURES:
        assert (written / f"{name}.png").stat().st_size > 1000
        assert (written / f"{name}.svg").read_text().lstrip().startswith("<?xml")


def test_table1_counts_mentions_of_huner_tasks_only(written):
    table = read(written, "table1_mentions")
    assert set(table["task"]) == {*TASKS, "s800_species"}
    assert table[(table["task"] == "cdr_chemical") & (table["split"] == "dev")]["mentions"].item() == 21
    assert set(table.loc[table["task"] == "s800_species", "status"]) == {"skipped"}
    assert "skipped" in (written / "table1_mentions.md").read_text()


def test_table2_mean_and_std_over_seeds_and_macro_averages(written):
    table = read(written, "table2_stl")
    seeds = [known_f1("stl", "cdr_chemical", 0.0, s) for s in SEEDS]
    row = task_row(table, "cdr_chemical", split="test", metric="word_f1")
    assert row["mean"] == pytest.approx(np.mean(seeds))
    assert row["std"] == pytest.approx(np.std(seeds, ddof=1))
    assert row["n_seeds"] == 2
    dev = task_row(table, "cdr_chemical", split="dev", metric="word_precision")
    assert dev["mean"] == pytest.approx(np.mean(seeds) + 0.03)
    epoch = task_row(table, "cdr_chemical", split=None, metric="best_epoch")
    assert epoch["mean"] == pytest.approx(3.5) and epoch["std"] == pytest.approx(np.std([3, 4], ddof=1))
    overall = table[
        (table["level"] == "overall") & (table["split"] == "test") & (table["metric"] == "word_f1")
    ]
    per_seed = [np.mean([known_f1("stl", t, 0.0, s) for t in TASKS]) for s in SEEDS]
    assert overall["mean"].item() == pytest.approx(np.mean(per_seed))
    assert overall["std"].item() == pytest.approx(np.std(per_seed, ddof=1))
    assert overall["tasks"].item() == 3
    gene = table[
        (table["level"] == "entity_type")
        & (table["entity_type"] == "gene")
        & (table["split"] == "test")
        & (table["metric"] == "word_f1")
    ]
    assert gene["mean"].item() == pytest.approx(0.70)
    assert task_row(table, "s800_species")["status"] == "skipped"
    text = (written / "table2_stl.md").read_text()
    assert "0.800 ± 0.014" in text and re.search(r"s800_species\s*\| skipped", text)
    assert "3.5 ± 0.7" in text  # a best epoch that seeds disagree on keeps its decimal
    # an average row's epoch is left empty, as in the paper (a mean of several tasks' epochs means nothing)
    assert re.search(r"\*\*overall average\*\* \(3 tasks\)\s*\| –\s*\|", text)


def test_table2_prints_one_seed_s_best_epoch_as_a_whole_number():
    from mtaal.results.multitask_report.markdown import table2_markdown

    row = dict(level="task", kind="stl", task="cdr_chemical", tasks=1, status="", split=None,
               metric="best_epoch", mean=4.0, std=np.nan, n_seeds=1, entity_type="chemical")
    text = table2_markdown(pd.DataFrame([row]))
    assert re.search(r"cdr_chemical\s*\|\s*4 \|", text) and "4.0" not in text


def test_table3_differences_and_paired_test_match_scipy(written):
    table = read(written, "table3_mtl_vs_stl")
    for task, gain in MTL_GAIN.items():
        assert task_row(table, task, metric="word_f1")["difference"] == pytest.approx(gain)
    tests = read(written, "table3_mtl_vs_stl_tests")
    stl = [TASKS[t] for t in sorted(TASKS)]
    mtl = [TASKS[t] + MTL_GAIN[t] for t in sorted(TASKS)]
    expected = stats.wilcoxon(mtl, stl)
    wilcoxon = tests[(tests["metric"] == "word_f1") & (tests["test"] == "wilcoxon")].iloc[0]
    assert wilcoxon["statistic"] == pytest.approx(expected.statistic)
    assert wilcoxon["p_value"] == pytest.approx(expected.pvalue)
    expected_t = stats.ttest_rel(mtl, stl)
    paired_t = tests[(tests["metric"] == "word_f1") & (tests["test"] == "paired_t")].iloc[0]
    assert paired_t["statistic"] == pytest.approx(expected_t.statistic)
    assert paired_t["p_value"] == pytest.approx(expected_t.pvalue)
    assert paired_t["n_tasks"] == 3
    assert task_row(table, "s800_species")["status"] == "skipped"
    assert "Wilcoxon signed-rank" in (written / "table3_mtl_vs_stl.md").read_text()


def test_paired_tests_say_why_when_they_cannot_run():
    too_few = paired_tests(pd.Series([0.5]), pd.Series([0.6]))
    assert all(np.isnan(r["p_value"]) and "too few" in r["note"] for r in too_few)
    same = paired_tests(pd.Series([0.5, 0.6]), pd.Series([0.5, 0.6]))
    assert all("identical" in r["note"] for r in same)


def test_ablation_tables_show_the_sequences_kept(written):
    stl = read(written, "table4_stl_ablation")
    half = stl[(stl["level"] == "task") & (stl["task"] == "cll_cellline") & (stl["fraction"] == 0.5)].iloc[0]
    assert half["train_kept"] == n_kept(100, 0.5) == 50 and half["train_total"] == 100
    assert half["kept_share"] == pytest.approx(0.5)
    assert half["mean"] == pytest.approx(0.55) and half["change_vs_full"] == pytest.approx(-0.05)
    overall = stl[(stl["level"] == "overall") & (stl["fraction"] == 0.5)].iloc[0]
    assert overall["train_kept"] == sum(n_kept(n, 0.5) for n in TRAIN_TOTAL.values())
    mtl = read(written, "table5_mtl_ablation")
    row = mtl[(mtl["task"] == "bc2gm_gene") & (mtl["fraction"] == 0.0)].iloc[0]
    assert row["mean"] == pytest.approx(0.73) and row["train_sequences_seen"] == 1200
    assert "600 / 1,200" in (written / "table5_mtl_ablation.md").read_text()


def test_fig4_correlation_is_numpys(written):
    points = read(written, "fig4_stl_correlation").set_index("task").loc[list(TASKS)]
    statistics = read(written, "fig4_stl_correlation_stats").set_index("variable")
    f1s = [TASKS[t] for t in TASKS]
    assert points["test_word_f1"].tolist() == pytest.approx(f1s)
    assert points["train_sequences"].tolist() == [TRAIN_TOTAL[t] for t in TASKS]
    assert points["corpus_train_sequences"].tolist() == [2 * TRAIN_TOTAL[t] for t in TASKS]
    r = np.corrcoef([TRAIN_TOTAL[t] for t in TASKS], f1s)[0, 1]
    assert statistics.loc["train_sequences", "pearson_r"] == pytest.approx(r)
    assert statistics.loc["train_sequences", "r_squared"] == pytest.approx(r**2)
    r_density = np.corrcoef([0.048, 0.044, 0.046], f1s)[0, 1]
    assert statistics.loc["annotation_density", "pearson_r"] == pytest.approx(r_density)
    assert statistics.loc["annotation_density", "p_value"] == pytest.approx(
        stats.pearsonr([0.048, 0.044, 0.046], f1s).pvalue
    )


def test_fig5_compares_entity_ablated_mtl_with_full_mtl(written):
    table = read(written, "fig5_entity_ablation")
    chemical = table[
        (table["held_out"] == "gene")
        & (table["level"] == "entity_type")
        & (table["entity_type"] == "chemical")
        & (table["metric"] == "word_f1")
    ].iloc[0]
    assert chemical["mean"] == pytest.approx(0.80 + MTL_GAIN["cdr_chemical"] + WITHOUT_GENE_CHANGE)
    assert chemical["change_vs_full_mtl"] == pytest.approx(WITHOUT_GENE_CHANGE)
    assert table[table["held_out"] == "species"]["status"].tolist() == ["skipped"]
    assert set(table["held_out"]) == {"none (all tasks)", "gene", "species"}


def test_table6_sets_finetune_beside_stl_and_mtl(written):
    table = read(written, "table6_finetune")
    at = table[(table["level"] == "task") & (table["fraction"] == 0.5)].set_index("model")["mean"]
    assert at["finetune"] == pytest.approx(0.70 - 0.05 + FINETUNE_GAIN)
    assert at["stl"] == pytest.approx(0.65) and at["mtl"] == pytest.approx(0.68)
    assert set(table["task"].dropna()) == {"bc2gm_gene"}


def test_table7_entity_level_beside_word_level(written):
    table = read(written, "table7_entity_level")
    stl = table[(table["model"] == "stl") & (table["task"] == "cll_cellline")].set_index("metric")["mean"]
    assert stl["entity_f1"] == pytest.approx(0.55) and stl["word_f1"] == pytest.approx(0.60)
    mtl = table[(table["model"] == "mtl") & (table["task"] == "cll_cellline")].set_index("metric")["mean"]
    assert mtl["entity_recall"] == pytest.approx(0.60 + 0.06 - 0.07)
    skipped = table[table["task"] == "s800_species"]
    assert set(skipped["model"]) == {"stl", "mtl"} and set(skipped["status"]) == {"skipped"}


# -------------------------------------------------------------------------------- small tiers


def test_no_runs_gives_empty_tables_and_no_runs_figures(inputs, tmp_path):
    _, _, corpus_path, sequence_path, _ = inputs
    out = tmp_path / "empty"
    write_report(tmp_path / "no_store", corpus_path, sequence_path, out, ENCODER, REGISTRY_TYPES)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == report.output_files()
    assert read(out, "table2_stl").empty and "mean" in read(out, "table2_stl").columns
    assert read(out, "table3_mtl_vs_stl").columns.tolist() == TABLE3_COLUMNS
    assert "_No runs._" in (out / "table6_finetune.md").read_text()
    assert "no STL runs" in (out / "fig4_stl_correlation.svg").read_text()


def test_tables_keep_their_schema_when_empty(written, inputs, tmp_path):
    _, _, corpus_path, sequence_path, _ = inputs
    out = tmp_path / "empty"
    write_report(tmp_path / "no_store", corpus_path, sequence_path, out, ENCODER, REGISTRY_TYPES)
    for name in [*report.TABLES, *report.EXTRA_TABLES]:
        if name == "table1_mentions":  # built from corpus_stats, never empty here
            continue
        full, empty = read(written, name), read(out, name)
        always = name in (
            "table3_mtl_vs_stl_tests",
            "fig4_stl_correlation_stats",
        )  # one row per test / variable
        assert empty.empty != always, name
        assert empty.dtypes.astype(str).to_dict() == full.dtypes.astype(str).to_dict(), name


def test_skipped_tasks_are_listed_with_their_reason(written):
    text = (written / "table7_entity_level.md").read_text()
    assert "Skipped: s800_species (no task has training data)" in text
    assert "Skipped: species (no task has training data)" in (written / "fig5_entity_ablation.md").read_text()


def test_stl_only_tier_still_writes_everything(inputs, tmp_path):
    runs, _, corpus_path, sequence_path, _ = inputs
    stl_only = [r for r in runs if "/stl/" in str(r) and "seed1" in str(r)]
    out = tmp_path / "stl_only"
    write_store(tmp_path / "store", [], stl_only)
    write_report(partition_path(tmp_path / "store", "multitask"), corpus_path, sequence_path, out, ENCODER,
                 REGISTRY_TYPES)
    table = read(out, "table2_stl")
    assert task_row(table, "bc2gm_gene", split="test", metric="word_f1")["n_seeds"] == 1
    assert read(out, "table3_mtl_vs_stl_tests")["p_value"].isna().all()
    assert "no entity-ablated MTL runs" in (out / "fig5_entity_ablation.svg").read_text()
    assert re.search(r"\| 0\.700\s+\|", (out / "table2_stl.md").read_text())  # one seed: no ± std
