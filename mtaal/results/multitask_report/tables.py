"""The data of the paper's tables and figures (Tables 1-7, Figs. 4-6), one tidy frame each."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mtaal.results.multitask_report.summary import (
    ENTITY_PRF,
    SUMMARY_COLUMNS,
    WORD_PRF,
    add_skipped,
    is_zero,
    long_form,
    skipped_tasks,
    summarise,
    task_order,
    trained_rows,
)
from mtaal.results.store import task_entity_types

# -------------------------------------------------------------------------------- Table 1

SPLIT_ORDER = ("train", "dev", "test", "all")
TABLE1_COLUMNS = [
    "task",
    "entity_type",
    "split",
    "documents",
    "sentences",
    "tokens",
    "mentions",
    "annotation_density",
    "status",
]


def table1_mentions(corpus_stats: pd.DataFrame, scores: pd.DataFrame, registry_types: Mapping[str, str]
                    ) -> pd.DataFrame:
    """Paper Table 1: mentions (and documents / sentences / tokens) per HUNER task and split; a task's entity
    type is its runs' (the store's), the config's corpus registry's (``registry_types``:
    :meth:`~mtaal.corpora.registry.Registry.entity_types`) for a task without runs."""
    run_tasks = set(scores["task"].dropna())
    stats_rows = corpus_stats[(corpus_stats["paper"] == "huner") | corpus_stats["dataset"].isin(run_tasks)]
    table = stats_rows.rename(columns={"dataset": "task"}).assign(status="built")
    tasks = [*table["task"], *sorted(run_tasks)]  # a run's task may lack corpus stats
    types = task_entity_types(scores.rename(columns={"task": "dataset"}), tasks, registry_types)
    table["entity_type"] = table["task"].map(types)
    skipped = set(scores.loc[scores["status"] == "skipped", "task"].dropna()) - set(
        scores.loc[scores["status"] == "trained", "task"]
    )
    table.loc[table["task"].isin(skipped), "status"] = "skipped"
    missing = task_order(scores[scores["task"].isin(run_tasks - set(table["task"]))])
    extra = pd.DataFrame(
        [
            {
                "task": t,
                "entity_type": types[t],
                "split": s,
                "status": "skipped" if t in skipped else "not in corpus stats",
            }
            for t in missing
            for s in ("train", "dev", "test", "all")
        ]
    )
    table = pd.concat([table[TABLE1_COLUMNS], extra.reindex(columns=TABLE1_COLUMNS)], ignore_index=True)
    order = {t: i for i, t in enumerate(task_order(table))}
    split_rank = table["split"].map({s: i for i, s in enumerate(SPLIT_ORDER)}).fillna(len(SPLIT_ORDER))
    table = table.assign(_t=table["task"].map(order), _s=split_rank).sort_values(["_t", "_s"], kind="stable")
    return table.drop(columns=["_t", "_s"]).reset_index(drop=True)


# -------------------------------------------------------------------------------- Table 2 (STL)


def table2_stl(scores: pd.DataFrame) -> pd.DataFrame:
    """Paper Table 2: STL at ablation 0, best epoch and dev / test word-level P, R, F1 (mean ± std over
    seeds), per task, per entity type and overall. ``best_epoch`` rows have no split."""
    rows = trained_rows(scores, "stl")
    rows = rows[is_zero(rows["fraction"])]
    long = long_form(rows, WORD_PRF, keys=["split"])
    epochs = long_form(rows[rows["split"] == "dev"].assign(split=None), ["best_epoch"], keys=["split"])
    table = summarise(pd.concat([long, epochs], ignore_index=True) if len(long) else long, keys=["split"])
    skipped = skipped_tasks(scores, "stl", [0.0])
    table = add_skipped(table, skipped, ["word_f1"], split="test")
    return table.reset_index(drop=True)


# -------------------------------------------------------------------------------- Table 3 (MTL vs STL)

TABLE3_COLUMNS = [
    "level",
    "entity_type",
    "task",
    "metric",
    "stl_mean",
    "stl_std",
    "stl_n_seeds",
    "mtl_mean",
    "mtl_std",
    "mtl_n_seeds",
    "difference",
    "tasks",
    "status",
    "reason",
]
TESTS_COLUMNS = ["metric", "test", "n_tasks", "mean_difference", "statistic", "p_value", "note"]


def paired_tests(stl: pd.Series, mtl: pd.Series) -> list[dict]:
    """Wilcoxon signed-rank and paired t tests (two-sided) of MTL against STL over tasks (paired by index)."""
    both = pd.concat({"stl": stl, "mtl": mtl}, axis=1).dropna()
    n = len(both)
    out = []
    for name, function in (("wilcoxon", stats.wilcoxon), ("paired_t", stats.ttest_rel)):
        row = {
            "test": name,
            "n_tasks": n,
            "mean_difference": float((both["mtl"] - both["stl"]).mean()) if n else math.nan,
            "statistic": math.nan,
            "p_value": math.nan,
            "note": "",
        }
        if n < 2:
            row["note"] = f"{n} paired tasks: too few to test"
        elif np.allclose(both["mtl"].to_numpy(), both["stl"].to_numpy()):
            row["note"] = "MTL and STL identical on every task"
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    result = function(both["mtl"].to_numpy(), both["stl"].to_numpy())
                    row["statistic"], row["p_value"] = float(result.statistic), float(result.pvalue)
                except ValueError as error:
                    row["note"] = str(error)
        out.append(row)
    return out


def table3_mtl_vs_stl(scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Paper Table 3: test word-level P / R / F1 of MTL (all tasks) beside STL at ablation 0, per task and
    averaged over the tasks both have; and the paired tests over those tasks (one row per metric and test)."""
    stl_rows = trained_rows(scores, "stl")
    mtl_rows = trained_rows(scores, "mtl", "all")
    stl_rows, mtl_rows = (r[(r["split"] == "test") & is_zero(r["fraction"])] for r in (stl_rows, mtl_rows))
    common = set(stl_rows["task"]) & set(mtl_rows["task"])
    keys = ["level", "entity_type", "task", "metric"]

    def side(rows: pd.DataFrame, prefix: str) -> pd.DataFrame:
        tasks = summarise(long_form(rows, WORD_PRF), levels=("task",))
        averages = summarise(
            long_form(rows[rows["task"].isin(common)], WORD_PRF), levels=("entity_type", "overall")
        )
        both = pd.concat([tasks, averages], ignore_index=True) if len(averages) else tasks
        return both[[*keys, "mean", "std", "n_seeds", "tasks"]].rename(
            columns={
                "mean": f"{prefix}_mean",
                "std": f"{prefix}_std",
                "n_seeds": f"{prefix}_n_seeds",
                "tasks": f"{prefix}_tasks",
            }
        )

    stl, mtl = side(stl_rows, "stl"), side(mtl_rows, "mtl")
    table = stl.merge(mtl, on=keys, how="outer")
    table["difference"] = table["mtl_mean"] - table["stl_mean"]
    table["tasks"] = table[["stl_tasks", "mtl_tasks"]].max(axis=1).fillna(0).astype("int64")
    table = table.drop(columns=["stl_tasks", "mtl_tasks"]).assign(status="trained", reason=None)
    skipped = pd.concat(
        [skipped_tasks(scores, "stl", [0.0]), skipped_tasks(scores, "mtl", [0.0])]
    ).drop_duplicates("task")
    skipped = skipped[~skipped["task"].isin(table["task"].dropna())]
    extra = pd.DataFrame(
        [
            {
                "level": "task",
                "entity_type": s.entity_type,
                "task": s.task,
                "metric": "word_f1",
                "tasks": 0,
                "status": "skipped",
                "reason": s.reason,
            }
            for s in skipped.itertuples(index=False)
        ]
    )
    table = pd.concat([table, extra], ignore_index=True) if len(extra) else table
    table = table.reindex(columns=TABLE3_COLUMNS)

    tests = []
    per_task = table[(table["level"] == "task") & table["task"].isin(common)]
    for metric in WORD_PRF:
        part = per_task[per_task["metric"] == metric].set_index("task")
        tests += [{"metric": metric, **row} for row in paired_tests(part["stl_mean"], part["mtl_mean"])]
    tests_frame = pd.DataFrame(tests, columns=TESTS_COLUMNS)
    return table, tests_frame


# -------------------------------------------------------------------------------- Tables 4 and 5 (ablation)

ABLATION_COLUMNS = [
    "level",
    "entity_type",
    "task",
    "fraction",
    "metric",
    "mean",
    "std",
    "n_seeds",
    "tasks",
    "change_vs_full",
    "train_total",
    "train_kept",
    "kept_share",
    "train_sequences_seen",
    "task_ablation_fraction",
    "status",
    "reason",
]


def ablation_table(scores: pd.DataFrame, experiment: str, group: str | None = None) -> pd.DataFrame:
    """Test word F1 per task and ablation fraction (mean ± std over seeds; averages over tasks), with the
    training sequences the runs had in total, kept after ablation and saw in the best epoch (seed means;
    averages give sums over tasks)."""
    rows = trained_rows(scores, experiment, group)
    rows = rows[rows["split"] == "test"]
    table = summarise(long_form(rows, ["word_f1"], keys=["fraction"]), keys=["fraction"])
    if len(table):
        data = (
            rows.groupby(["task", "entity_type", "fraction"])[
                ["train_total", "train_kept", "train_sequences", "task_ablation_fraction"]
            ]
            .mean()
            .rename(columns={"train_sequences": "train_sequences_seen"})
            .reset_index()
        )
        table = table.merge(data.drop(columns="entity_type"), on=["task", "fraction"], how="left")
        for level, by in (("entity_type", ["entity_type"]), ("overall", [])):
            sums = data.groupby([*by, "fraction"])[
                ["train_total", "train_kept", "train_sequences_seen"]
            ].sum()
            sums = sums.reset_index().assign(level=level)
            mask = table["level"] == level
            merged = (
                table[mask]
                .drop(columns=["train_total", "train_kept", "train_sequences_seen"])
                .merge(sums, on=["level", *by, "fraction"], how="left")
            )
            table = pd.concat([table[~mask], merged], ignore_index=True)
        table["kept_share"] = table["train_kept"] / table["train_total"]
        full = table[is_zero(table["fraction"])].set_index(["level", "entity_type", "task"])["mean"]
        index = pd.MultiIndex.from_frame(table[["level", "entity_type", "task"]])
        table["change_vs_full"] = table["mean"].to_numpy() - full.reindex(index).to_numpy()
    fractions = sorted(scores.loc[scores["experiment"] == experiment, "fraction"].unique())
    skipped = skipped_tasks(scores, experiment, fractions)
    table = add_skipped(table, skipped, ["word_f1"])
    return table.reindex(columns=ABLATION_COLUMNS).reset_index(drop=True)


# -------------------------------------------------------------------------------- Figure 4 (correlation)

FIG4_COLUMNS = [
    "task",
    "entity_type",
    "test_word_f1",
    "n_seeds",
    "train_sequences",
    "corpus_train_sequences",
    "annotation_density",
]
FIG4_STATS_COLUMNS = ["variable", "n_tasks", "pearson_r", "r_squared", "p_value", "slope", "intercept"]
FIG4_VARIABLES = {
    "train_sequences": "training sequences (STL run)",
    "annotation_density": "annotation density (train split, mentions / token)",
}


def pearson(x: Sequence[float], y: Sequence[float]) -> dict:
    """Pearson r, r², two-sided p and the least-squares line; NaN where undefined (n < 3 or constant)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    out = {
        "n_tasks": len(x),
        "pearson_r": math.nan,
        "r_squared": math.nan,
        "p_value": math.nan,
        "slope": math.nan,
        "intercept": math.nan,
    }
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    result = stats.pearsonr(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    out.update(
        pearson_r=float(result.statistic),
        r_squared=float(result.statistic) ** 2,
        p_value=float(result.pvalue),
        slope=float(slope),
        intercept=float(intercept),
    )
    return out


def fig4_data(
    scores: pd.DataFrame, corpus_stats: pd.DataFrame, sequences: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per task: STL test word F1 at ablation 0 (seed mean), the training sequences the run had (from
    best.json; the sequence table's count where the run lacks it), the corpus's own training sequences
    (sequence table) and the train split's annotation density; and Pearson statistics per variable."""
    rows = trained_rows(scores, "stl")
    rows = rows[(rows["split"] == "test") & is_zero(rows["fraction"])]
    points = (
        rows.groupby(["task", "entity_type"])
        .agg(
            test_word_f1=("word_f1", "mean"),
            n_seeds=("seed", "nunique"),
            train_sequences=("train_total", "mean"),
        )
        .reset_index()
    )
    corpus = (
        sequences[sequences["split"] == "train"].drop_duplicates("dataset").set_index("dataset")["sequences"]
    )
    density = (
        corpus_stats[corpus_stats["split"] == "train"]
        .drop_duplicates("dataset")
        .set_index("dataset")["annotation_density"]
    )
    points["corpus_train_sequences"] = points["task"].map(corpus).astype(float)
    points["train_sequences"] = points["train_sequences"].fillna(points["corpus_train_sequences"])
    points["annotation_density"] = points["task"].map(density).astype(float)
    points = points.reindex(columns=FIG4_COLUMNS)
    statistics = []
    for variable in FIG4_VARIABLES:
        usable = points.dropna(subset=[variable, "test_word_f1"])
        statistics.append({"variable": variable, **pearson(usable[variable], usable["test_word_f1"])})
    return points, pd.DataFrame(statistics, columns=FIG4_STATS_COLUMNS)


# -------------------------------------------------------------------------------- Figure 5 (entity ablation)

FIG5_COLUMNS = [
    "held_out",
    "level",
    "entity_type",
    "task",
    "metric",
    "mean",
    "std",
    "n_seeds",
    "tasks",
    "full_mtl_mean",
    "change_vs_full_mtl",
    "change_std",
    "status",
    "reason",
]
FULL_MTL = "none (all tasks)"


def fig5_data(scores: pd.DataFrame) -> pd.DataFrame:
    """Entity-ablated MTL (``mtl_without/<held out>``, ablation 0): test word / entity F1 per task, per
    evaluated entity type and overall (``held_out`` "none (all tasks)": full MTL itself), and the change from
    full MTL on the same tasks: per seed, ablated minus full (macro over tasks), then mean / std over the
    seeds both have."""
    rows = trained_rows(scores, "mtl_without")
    rows = rows[(rows["split"] == "test") & is_zero(rows["fraction"])]
    full_rows = trained_rows(scores, "mtl", "all")
    full_rows = full_rows[(full_rows["split"] == "test") & is_zero(full_rows["fraction"])]
    metrics = ["word_f1", "entity_f1"]
    keys = ["level", "entity_type", "task", "metric"]
    full_long = long_form(full_rows, metrics)
    parts = []
    if len(full_rows):
        full = summarise(full_long).assign(held_out=FULL_MTL)
        full["full_mtl_mean"] = full["mean"]
        parts.append(full)
    for held_out, part in rows.groupby("group", sort=True):
        long = long_form(part, metrics)
        table = summarise(long).assign(held_out=held_out)
        same_tasks = full_long[full_long["task"].isin(set(part["task"]))]
        if len(same_tasks):
            baseline = summarise(same_tasks)[[*keys, "mean"]].rename(columns={"mean": "full_mtl_mean"})
            paired = long.merge(
                same_tasks, on=["task", "entity_type", "seed", "metric"], suffixes=("", "_full")
            )
            change = summarise(paired.assign(value=paired["value"] - paired["value_full"]))
            change = change[[*keys, "mean", "std"]].rename(
                columns={"mean": "change_vs_full_mtl", "std": "change_std"}
            )
            table = table.merge(baseline, on=keys, how="left").merge(change, on=keys, how="left")
        parts.append(table)
    skipped = scores[(scores["experiment"] == "mtl_without") & (scores["status"] == "skipped")]
    trained_groups = set(rows["group"])
    for group, part in skipped.groupby("group"):
        if group not in trained_groups:
            parts.append(
                pd.DataFrame(
                    [
                        {
                            "held_out": group,
                            "level": "overall",
                            "metric": "word_f1",
                            "n_seeds": 0,
                            "tasks": 0,
                            "status": "skipped",
                            "reason": part["reason"].iloc[0],
                        }
                    ]
                )
            )
    if not parts:
        return pd.DataFrame(columns=FIG5_COLUMNS)
    table = pd.concat(parts, ignore_index=True).reindex(columns=FIG5_COLUMNS)
    # an all-trained table has an all-NaN (float) status column: fill it as text
    table["status"] = table["status"].astype(object).fillna("trained")
    return table


# -------------------------------------------------------------------------------- Table 6 (fine-tune)

TABLE6_COLUMNS = [
    "level",
    "entity_type",
    "task",
    "fraction",
    "model",
    "metric",
    "mean",
    "std",
    "n_seeds",
    "tasks",
    "train_kept",
    "status",
    "reason",
]


def table6_finetune(scores: pd.DataFrame) -> pd.DataFrame:
    """Held-out tasks fine-tuned from the entity-ablated MTL encoder, per ablation fraction, beside STL and
    MTL (all tasks) at the same fraction: test word F1 per task, and averages over the fine-tuned tasks
    each model has (macro per seed, then mean ± std)."""
    finetune = trained_rows(scores, "finetune")
    tasks = set(finetune["task"])
    parts = []
    for model, rows in (
        ("stl", trained_rows(scores, "stl")),
        ("mtl", trained_rows(scores, "mtl", "all")),
        ("finetune", finetune),
    ):
        rows = rows[(rows["split"] == "test") & rows["task"].isin(tasks)]
        if not len(rows):
            continue
        table = summarise(long_form(rows, ["word_f1"], keys=["fraction"]), keys=["fraction"]).assign(
            model=model
        )
        kept = rows.groupby(["task", "fraction"])["train_kept"].mean().rename("train_kept").reset_index()
        parts.append(table.merge(kept, on=["task", "fraction"], how="left"))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TABLE6_COLUMNS)
    fractions = sorted(scores.loc[scores["experiment"] == "finetune", "fraction"].unique())
    skipped = skipped_tasks(scores, "finetune", fractions)
    table = add_skipped(table, skipped, ["word_f1"], model="finetune")
    return table.reindex(columns=TABLE6_COLUMNS).reset_index(drop=True)


# -------------------------------------------------------------------------------- Table 7 (entity level)

TABLE7_COLUMNS = ["model", *SUMMARY_COLUMNS, "status", "reason"]


def table7_entity_level(scores: pd.DataFrame) -> pd.DataFrame:
    """Entity-level strict P / R / F1 and word-level F1 on test, STL and MTL (all tasks) at ablation 0."""
    parts = []
    for model, rows in (("stl", trained_rows(scores, "stl")), ("mtl", trained_rows(scores, "mtl", "all"))):
        rows = rows[(rows["split"] == "test") & is_zero(rows["fraction"])]
        table = summarise(long_form(rows, ["word_f1", *ENTITY_PRF])).assign(model=model)
        parts.append(add_skipped(table, skipped_tasks(scores, model, [0.0]), ["entity_f1"], model=model))
    parts = [p for p in parts if len(p)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return table.reindex(columns=TABLE7_COLUMNS)
