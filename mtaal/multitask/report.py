"""Multitask NER runs -> the tables and figures of Rodriguez, Nguyen & McInnes (J Biomed Inform 2022).

Entry point: :func:`write_report` ``(run_dirs, corpus_stats, sequence_table, out_dir)``.

A run is a directory ``results/multitask/<encoder>/<experiment>/<group>/ablation<fraction>/seed<seed>/``
holding ``best.json`` (and ``epochs.parquet``); the path (or the path of its ``best.json``) names the
experiment: ``stl/<task>``, ``mtl/all``, ``mtl_without/<entity type>`` or ``finetune/<task>``. Everything
reported comes from ``best.json`` (``epochs.parquet`` is not read): the best epoch (highest mean dev word
F1), every task's dev and test scores at that epoch, and the data record (training sequences in total, kept
after ablation, seen per epoch).

Conventions, each on purpose:

* **Over seeds.** A task's score is the mean ± sample std (ddof 1; blank with one seed) over seeds.
* **Averages.** An entity-type or overall average is, per seed, the unweighted mean over the tasks (macro),
  then mean ± std over seeds; ``tasks`` says how many tasks it covers. Table 3 averages only the tasks with
  both STL and MTL runs, Table 6 only the fine-tuned tasks, Fig. 5 compares with full MTL on the same tasks.
* **MTL vs STL.** Wilcoxon signed-rank and paired t tests (scipy, two-sided) over tasks, on the per-task
  seed means of test word P, R and F1.
* **Fig. 4.** Training size is the number of training sequences the STL run had (``train_total`` in
  best.json, after any small-tier cap; the sequence table's count where that is missing); the corpus's own
  count (sequence table) is kept beside it. Pearson r, r² and p are on the raw values.
* **Skipped.** A run whose corpus was missing (``{"status": "skipped"}``) and the tasks an MTL run left out
  (``skipped_tasks``) appear as rows with ``status`` ``skipped`` and the reason, never as scores.
* **Empty.** An experiment without runs gives its table with the right columns and no rows, and a figure
  that says "no runs".

Every table is tidy parquet plus a markdown rendering; every figure is PNG + SVG.
"""

from __future__ import annotations

import json
import logging
import math
import textwrap
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from mtaal.io import atomic_path, write_parquet, write_text
from mtaal.multitask.evaluation import METRICS

log = logging.getLogger(__name__)

EXPERIMENTS = ("stl", "mtl", "mtl_without", "finetune")
WORD_PRF = ("word_precision", "word_recall", "word_f1")
ENTITY_PRF = ("entity_precision", "entity_recall", "entity_f1")
ENTITY_OF_SUFFIX = {"cellline": "cell_line", "chemical": "chemical", "gene": "gene", "species": "species"}
ENTITY_ORDER = ("cell_line", "chemical", "gene", "species")
SPLIT_ORDER = ("train", "dev", "test", "all")
MODEL_LABELS = {"stl": "STL", "mtl": "MTL", "finetune": "fine-tuned"}
SHORT = {
    "word_io_precision": "P (paper's word level)",
    "word_io_recall": "R (paper's word level)",
    "word_io_f1": "F1 (paper's word level)",
    "word_precision": "P",
    "word_recall": "R",
    "word_f1": "F1",
    "entity_precision": "entity P",
    "entity_recall": "entity R",
    "entity_f1": "entity F1",
    "best_epoch": "best epoch",
}

TABLES = (
    "table1_mentions",
    "table2_stl",
    "table3_mtl_vs_stl",
    "table4_stl_ablation",
    "table5_mtl_ablation",
    "table6_finetune",
    "table7_entity_level",
)
FIGURES = ("fig4_stl_correlation", "fig5_entity_ablation", "fig6_finetune")
# Tidy data behind some tables and figures, written beside them.
EXTRA_TABLES = (
    "scores",
    "table3_mtl_vs_stl_tests",
    "fig4_stl_correlation",
    "fig4_stl_correlation_stats",
    "fig5_entity_ablation",
)


def output_files() -> list[str]:
    """Every file :func:`write_report` writes, relative to its ``out_dir``."""
    names = [f"{t}.{s}" for t in TABLES for s in ("parquet", "md")]
    names += [f"{f}.{s}" for f in FIGURES for s in ("png", "svg")]
    names += [f"{t}.parquet" for t in EXTRA_TABLES]
    names += ["fig4_stl_correlation.md", "fig5_entity_ablation.md"]
    return sorted(set(names))


# -------------------------------------------------------------------------------- collecting runs


@dataclass(frozen=True)
class RunKey:
    """What a run's path says: ``<encoder>/<experiment>/<group>/ablation<fraction>/seed<seed>``."""

    encoder: str
    experiment: str
    group: str
    fraction: float
    seed: int
    directory: Path


def parse_run_path(path: str | Path) -> RunKey:
    """The run's keys from its directory (or from its ``best.json`` / ``epochs.parquet``)."""
    directory = Path(path)
    if directory.name in ("best.json", "epochs.parquet"):
        directory = directory.parent
    parts = directory.parts
    if len(parts) < 5:
        raise ValueError(f"{path}: expected .../<encoder>/<experiment>/<group>/ablation<f>/seed<s>")
    encoder, experiment, group, ablation, seed = parts[-5:]
    if experiment not in EXPERIMENTS or not ablation.startswith("ablation") or not seed.startswith("seed"):
        raise ValueError(
            f"{path}: expected .../<encoder>/<experiment>/<group>/ablation<f>/seed<s> with experiment one "
            f"of {EXPERIMENTS}"
        )
    try:
        return RunKey(encoder, experiment, group, float(ablation[8:]), int(seed[4:]), directory)
    except ValueError as error:
        raise ValueError(f"{path}: cannot read the ablation fraction or seed ({error})") from error


def entity_type_of(task: str) -> str:
    """Canonical entity type of a HUNER task ``<corpus>_<entity>``: ``cll_cellline`` -> ``cell_line``."""
    suffix = task.rsplit("_", 1)[-1]
    return ENTITY_OF_SUFFIX.get(suffix, suffix)


SCORE_COLUMNS = {
    "encoder": "str",
    "experiment": "str",
    "group": "str",
    "fraction": "float64",
    "seed": "int64",
    "task": "object",
    "entity_type": "object",
    "status": "str",
    "reason": "object",
    "split": "object",
    "best_epoch": "float64",
    "epochs_run": "float64",
    "train_sequences": "float64",
    "train_total": "float64",
    "train_kept": "float64",
    "task_ablation_fraction": "float64",
    **dict.fromkeys(METRICS, "float64"),
}


def _frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    return frame.astype(columns)


def collect_scores(run_dirs: Iterable[str | Path]) -> pd.DataFrame:
    """One row per run x task x split (dev, test) with the best epoch's scores and the data record; a
    skipped run or task gives one row with ``status`` ``skipped``, its ``reason`` and no split or scores."""
    rows: list[dict] = []
    for path in run_dirs:
        key = parse_run_path(path)
        best_path = key.directory / "best.json"
        record = json.loads(best_path.read_text(encoding="utf-8"))
        base = {
            "encoder": key.encoder,
            "experiment": key.experiment,
            "group": key.group,
            "fraction": key.fraction,
            "seed": key.seed,
        }
        own_task = key.group if key.experiment in ("stl", "finetune") else None
        if record.get("status") == "skipped" or "tasks" not in record:
            reason = str(record.get("reason", "no scores in best.json"))
            tasks = list(record.get("skipped_tasks") or []) or [own_task]
            for task in tasks:
                rows.append({**base, "task": task, "status": "skipped", "reason": reason})
            continue
        data = record.get("data", {})
        for task in record.get("skipped_tasks") or []:
            rows.append(
                {**base, "task": task, "status": "skipped", "reason": "no training data (corpus skipped)"}
            )
        for task, entry in record["tasks"].items():
            kept = data.get(task, {})
            for split in ("dev", "test"):
                if split not in entry:
                    continue
                rows.append(
                    {
                        **base,
                        "task": task,
                        "status": "trained",
                        "split": split,
                        "best_epoch": record.get("best_epoch"),
                        "epochs_run": record.get("epochs_run"),
                        "train_sequences": entry.get("train_sequences"),
                        "train_total": kept.get("train_total"),
                        "train_kept": kept.get("train_kept"),
                        "task_ablation_fraction": kept.get("ablation_fraction"),
                        **{m: entry[split].get(m) for m in METRICS},
                    }
                )
    frame = _frame(rows, SCORE_COLUMNS)
    frame["entity_type"] = [entity_type_of(t) if isinstance(t, str) else None for t in frame["task"]]
    encoders = sorted(frame["encoder"].unique())
    if len(encoders) > 1:
        raise ValueError(f"runs of several encoders ({', '.join(encoders)}); report one encoder at a time")
    return frame


# -------------------------------------------------------------------------------- summaries


def _is_zero(fraction: pd.Series) -> pd.Series:
    return np.isclose(fraction.astype(float), 0.0)


def _trained(scores: pd.DataFrame, experiment: str, group: str | None = None) -> pd.DataFrame:
    keep = (scores["experiment"] == experiment) & (scores["status"] == "trained")
    if group is not None:
        keep &= scores["group"] == group
    return scores[keep]


def _skipped(scores: pd.DataFrame, experiment: str, fractions: Sequence[float] | None = None) -> pd.DataFrame:
    """Tasks skipped in ``experiment`` (and never trained there): task, entity_type, reason."""
    rows = scores[(scores["experiment"] == experiment) & scores["task"].notna()]
    if fractions is not None:
        rows = rows[np.isin(rows["fraction"].astype(float), list(fractions))]
    trained = set(rows.loc[rows["status"] == "trained", "task"])
    skipped = rows[(rows["status"] == "skipped") & ~rows["task"].isin(trained)]
    return skipped.drop_duplicates("task")[["task", "entity_type", "reason"]].reset_index(drop=True)


def _long(rows: pd.DataFrame, metrics: Sequence[str], keys: Sequence[str] = ()) -> pd.DataFrame:
    """Per-seed values, one per row: ``keys`` + task, entity_type, seed, metric, value."""
    ids = [*keys, "task", "entity_type", "seed"]
    if not len(rows):
        return pd.DataFrame(columns=[*ids, "metric", "value"])
    return rows.melt(id_vars=ids, value_vars=list(metrics), var_name="metric", value_name="value").dropna(
        subset=["value"]
    )


SUMMARY_COLUMNS = ["level", "entity_type", "task", "metric", "mean", "std", "n_seeds", "tasks"]


def summarise(
    long: pd.DataFrame, keys: Sequence[str] = (), levels: Sequence[str] = ("task", "entity_type", "overall")
) -> pd.DataFrame:
    """Mean / std / n over seeds per task, and per-seed macro averages over the tasks of each entity type
    and over all tasks (then mean / std over seeds). Columns: ``keys`` + :data:`SUMMARY_COLUMNS`."""
    keys = list(keys)
    columns = [*keys, *SUMMARY_COLUMNS]
    if not len(long):
        return pd.DataFrame(columns=columns)
    parts = []
    if "task" in levels:
        per_task = (
            long.groupby([*keys, "entity_type", "task", "metric"], sort=False, dropna=False)["value"]
            .agg(mean="mean", std="std", n_seeds="count")
            .reset_index()
            .assign(level="task", tasks=1)
        )
        parts.append(per_task)
    for level, by in (("entity_type", ["entity_type"]), ("overall", [])):
        if level not in levels:
            continue
        per_seed = (
            long.groupby([*keys, *by, "metric", "seed"], sort=False, dropna=False)
            .agg(value=("value", "mean"), tasks=("task", "nunique"))
            .reset_index()
        )
        summary = (
            per_seed.groupby([*keys, *by, "metric"], sort=False, dropna=False)
            .agg(
                mean=("value", "mean"),
                std=("value", "std"),
                n_seeds=("seed", "nunique"),
                tasks=("tasks", "max"),
            )
            .reset_index()
            .assign(level=level)
        )
        if level == "overall":
            summary["entity_type"] = None
        summary["task"] = None
        parts.append(summary)
    out = pd.concat(parts, ignore_index=True)[columns]
    return out.astype({"n_seeds": "int64", "tasks": "int64"})


def _task_order(tasks: Iterable[str]) -> list[str]:
    def rank(task: str) -> tuple:
        kind = entity_type_of(task)
        return (ENTITY_ORDER.index(kind) if kind in ENTITY_ORDER else len(ENTITY_ORDER), kind, task)

    return sorted(set(tasks), key=rank)


def _type_order(types: Iterable[str]) -> list[str]:
    present = {t for t in types if isinstance(t, str)}
    return [t for t in ENTITY_ORDER if t in present] + sorted(present - set(ENTITY_ORDER))


def _add_skipped(table: pd.DataFrame, skipped: pd.DataFrame, metrics: Sequence[str], **keys) -> pd.DataFrame:
    """``table`` with ``status`` (trained / skipped) and ``reason``; skipped tasks get rows without scores."""
    table = table.assign(status="trained", reason=None)
    if not len(skipped):
        return table
    extra = [
        {
            **keys,
            "level": "task",
            "entity_type": s.entity_type,
            "task": s.task,
            "metric": m,
            "status": "skipped",
            "reason": s.reason,
            "n_seeds": 0,
            "tasks": 0,
        }
        for s in skipped.itertuples(index=False)
        for m in metrics
    ]
    extra_frame = pd.DataFrame(extra)
    return (
        pd.concat([table, extra_frame], ignore_index=True)
        if len(table)
        else extra_frame.reindex(columns=table.columns)
    )


# -------------------------------------------------------------------------------- formatting


def _fmt(mean: float, std: float = math.nan, n: int = 0, digits: int = 3) -> str:
    if mean is None or pd.isna(mean):
        return "–"
    text = f"{mean:.{digits}f}"
    if n and n > 1 and pd.notna(std):
        text += f" ± {std:.{digits}f}"
    return text


def _signed(value: float, digits: int = 3) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:+.{digits}f}"


def _row_label(level: str, entity_type: str | None, task: str | None, tasks: int) -> str:
    if level == "task":
        return str(task)
    if level == "entity_type":
        return f"**{entity_type} average** ({tasks} tasks)"
    return f"**overall average** ({tasks} tasks)"


def _ordered_rows(table: pd.DataFrame) -> list[tuple[str, str | None, str | None]]:
    """(level, entity_type, task) in reading order: each type's tasks then its average, then overall."""
    if not len(table):
        return []
    keys = table[["level", "entity_type", "task"]].drop_duplicates()
    out: list[tuple[str, str | None, str | None]] = []
    tasks = keys[keys["level"] == "task"]
    averages = keys[keys["level"] == "entity_type"]
    for kind in _type_order([*tasks["entity_type"], *averages["entity_type"]]):
        out += [("task", kind, t) for t in _task_order(tasks.loc[tasks["entity_type"] == kind, "task"])]
        if (averages["entity_type"] == kind).any():
            out.append(("entity_type", kind, None))
    if (keys["level"] == "overall").any():
        out.append(("overall", None, None))
    return out


def _select(table: pd.DataFrame, level: str, entity_type: str | None, task: str | None) -> pd.DataFrame:
    rows = table[table["level"] == level]
    if level == "task":
        return rows[rows["task"] == task]
    if level == "entity_type":
        return rows[rows["entity_type"] == entity_type]
    return rows


def _markdown(
    header: str, note: str, rows: list[dict], columns: list[str], table: pd.DataFrame | None = None
) -> str:
    """A titled markdown table; ``table``'s skipped rows (``status``, ``reason``) are listed below it."""
    body = pd.DataFrame(rows, columns=columns).to_markdown(index=False) if rows else "_No runs._"
    text = f"# {header}\n\n{note}\n\n{body}\n"
    if table is not None and "status" in table.columns:
        skipped = table[table["status"] == "skipped"]
        key = "task" if skipped["task"].notna().all() else "held_out"
        if key in skipped.columns and len(skipped):
            listed = skipped.drop_duplicates(key)
            text += (
                "\nSkipped: " + "; ".join(f"{r[key]} ({r['reason']})" for _, r in listed.iterrows()) + ".\n"
            )
    return text


TEXT_COLUMNS = {
    "encoder",
    "experiment",
    "group",
    "level",
    "entity_type",
    "task",
    "metric",
    "split",
    "status",
    "reason",
    "held_out",
    "model",
    "test",
    "note",
    "variable",
}
COUNT_COLUMNS = {"seed", "n_seeds", "tasks", "n_tasks"}


def _write_table(frame: pd.DataFrame, out_dir: Path, name: str, markdown: str | None = None) -> None:
    """Parquet with a stable schema (text columns as strings, counts as int64, the rest float64, empty
    tables included), and the markdown rendering when given."""
    types = {
        column: "str" if column in TEXT_COLUMNS else "int64" if column in COUNT_COLUMNS else "float64"
        for column in frame.columns
    }
    frame = frame.astype({c: t for c, t in types.items() if not (t == "int64" and frame[c].isna().any())})
    write_parquet(
        pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False), out_dir / f"{name}.parquet"
    )
    if markdown is not None:
        write_text(markdown, out_dir / f"{name}.md")


def _status_text(rows: pd.DataFrame) -> str | None:
    """ "skipped" when every row of a table cell is a skipped task."""
    if len(rows) and (rows["status"] == "skipped").all():
        return "skipped"
    return None


# -------------------------------------------------------------------------------- Table 1


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


def table1_mentions(corpus_stats: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Paper Table 1: mentions (and documents / sentences / tokens) per HUNER task and split."""
    run_tasks = set(scores["task"].dropna())
    stats_rows = corpus_stats[(corpus_stats["paper"] == "huner") | corpus_stats["dataset"].isin(run_tasks)]
    table = stats_rows.rename(columns={"dataset": "task"}).assign(status="built")
    table["entity_type"] = [entity_type_of(t) for t in table["task"]]
    skipped = set(scores.loc[scores["status"] == "skipped", "task"].dropna()) - set(
        scores.loc[scores["status"] == "trained", "task"]
    )
    table.loc[table["task"].isin(skipped), "status"] = "skipped"
    missing = _task_order(run_tasks - set(table["task"]))
    extra = pd.DataFrame(
        [
            {
                "task": t,
                "entity_type": entity_type_of(t),
                "split": s,
                "status": "skipped" if t in skipped else "not in corpus stats",
            }
            for t in missing
            for s in ("train", "dev", "test", "all")
        ]
    )
    table = pd.concat([table[TABLE1_COLUMNS], extra.reindex(columns=TABLE1_COLUMNS)], ignore_index=True)
    order = {t: i for i, t in enumerate(_task_order(table["task"]))}
    split_rank = table["split"].map({s: i for i, s in enumerate(SPLIT_ORDER)}).fillna(len(SPLIT_ORDER))
    table = table.assign(_t=table["task"].map(order), _s=split_rank).sort_values(["_t", "_s"], kind="stable")
    return table.drop(columns=["_t", "_s"]).reset_index(drop=True)


def table1_markdown(table: pd.DataFrame) -> str:
    rows = []
    for task in _task_order(table["task"]):
        part = table[table["task"] == task]
        row = {"task": task, "entity type": entity_type_of(task)}
        for split in ("train", "dev", "test", "all"):
            value = part.loc[part["split"] == split, "mentions"]
            row[split] = "–" if value.empty or pd.isna(value.iloc[0]) else f"{int(value.iloc[0]):,}"
        row["status"] = part["status"].iloc[0]
        rows.append(row)
    built = table[(table["status"] == "built") & table["mentions"].notna()]
    for kind in _type_order(built["entity_type"]):
        part = built[built["entity_type"] == kind]
        totals = part.groupby("split")["mentions"].sum()
        rows.append(
            {
                "task": f"**{kind} total** ({part['task'].nunique()} tasks)",
                "entity type": kind,
                **{s: f"{int(totals.get(s, 0)):,}" for s in ("train", "dev", "test", "all")},
                "status": "",
            }
        )
    return _markdown(
        "Multitask NER: entity mentions per HUNER task and split (paper Table 1)",
        "Mentions counted in the built corpora (results/tables/corpus_stats.parquet); `skipped`: the corpus "
        "could not be obtained, so the task has no runs.",
        rows,
        ["task", "entity type", "train", "dev", "test", "all", "status"],
    )


# -------------------------------------------------------------------------------- Table 2 (STL)


def table2_stl(scores: pd.DataFrame) -> pd.DataFrame:
    """Paper Table 2: STL at ablation 0, best epoch and dev / test word-level P, R, F1 (mean ± std over
    seeds), per task, per entity type and overall. ``best_epoch`` rows have no split."""
    rows = _trained(scores, "stl")
    rows = rows[_is_zero(rows["fraction"])]
    long = _long(rows, WORD_PRF, keys=["split"])
    epochs = _long(rows[rows["split"] == "dev"].assign(split=None), ["best_epoch"], keys=["split"])
    table = summarise(pd.concat([long, epochs], ignore_index=True) if len(long) else long, keys=["split"])
    skipped = _skipped(scores, "stl", [0.0])
    table = _add_skipped(table, skipped, ["word_f1"], split="test")
    return table.reset_index(drop=True)


def table2_markdown(table: pd.DataFrame) -> str:
    columns = ["task", "best epoch"] + [f"{split} {SHORT[m]}" for split in ("dev", "test") for m in WORD_PRF]
    rows = []
    for level, kind, task in _ordered_rows(table):
        part = _select(table, level, kind, task)
        status = _status_text(part)
        tasks = int(part["tasks"].max()) if len(part) else 0
        row = {"task": _row_label(level, kind, task, tasks)}
        for split, metric, column in [(None, "best_epoch", "best epoch")] + [
            (s, m, f"{s} {SHORT[m]}") for s in ("dev", "test") for m in WORD_PRF
        ]:
            cell = part[
                (part["metric"] == metric)
                & (part["split"].isna() if split is None else part["split"] == split)
            ]
            if status:
                row[column] = status
            elif cell.empty:
                row[column] = "–"
            else:
                c = cell.iloc[0]
                row[column] = _fmt(c["mean"], c["std"], c["n_seeds"], 1 if metric == "best_epoch" else 3)
        rows.append(row)
    seeds = sorted(table["n_seeds"].dropna().unique()) if len(table) else []
    return _markdown(
        "Multitask NER: single-task (STL) results at ablation 0 (paper Table 2)",
        "Word-level precision, recall and F1 at the best epoch (highest dev word F1); mean ± std over seeds "
        f"(seeds per task: {', '.join(str(int(s)) for s in seeds if s) or '–'}). Averages are macro over "
        "tasks, per seed, then mean ± std over seeds.",
        rows,
        columns,
        table,
    )


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


def _test_rows(rows: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Test-split rows at ablation 0 as task-level seed means: task, entity_type, metric, mean."""
    rows = rows[(rows["split"] == "test") & _is_zero(rows["fraction"])]
    return summarise(_long(rows, metrics), levels=("task",))


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
    stl_rows = _trained(scores, "stl")
    mtl_rows = _trained(scores, "mtl", "all")
    stl_rows, mtl_rows = (r[(r["split"] == "test") & _is_zero(r["fraction"])] for r in (stl_rows, mtl_rows))
    common = set(stl_rows["task"]) & set(mtl_rows["task"])
    keys = ["level", "entity_type", "task", "metric"]

    def side(rows: pd.DataFrame, prefix: str) -> pd.DataFrame:
        tasks = summarise(_long(rows, WORD_PRF), levels=("task",))
        averages = summarise(
            _long(rows[rows["task"].isin(common)], WORD_PRF), levels=("entity_type", "overall")
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
    skipped = pd.concat([_skipped(scores, "stl", [0.0]), _skipped(scores, "mtl", [0.0])]).drop_duplicates(
        "task"
    )
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


def table3_markdown(table: pd.DataFrame, tests: pd.DataFrame) -> str:
    columns = (
        ["task"]
        + [f"{model} {SHORT[m]}" for model in ("STL", "MTL") for m in WORD_PRF]
        + ["Δ F1 (MTL − STL)"]
    )
    rows = []
    for level, kind, task in _ordered_rows(table):
        part = _select(table, level, kind, task)
        status = _status_text(part)
        row = {"task": _row_label(level, kind, task, int(part["tasks"].max()))}
        for model, prefix in (("STL", "stl"), ("MTL", "mtl")):
            for m in WORD_PRF:
                cell = part[part["metric"] == m]
                row[f"{model} {SHORT[m]}"] = status or (
                    "–"
                    if cell.empty
                    else _fmt(
                        cell.iloc[0][f"{prefix}_mean"],
                        cell.iloc[0][f"{prefix}_std"],
                        cell.iloc[0][f"{prefix}_n_seeds"],
                    )
                )
        cell = part[part["metric"] == "word_f1"]
        row["Δ F1 (MTL − STL)"] = status or ("–" if cell.empty else _signed(cell.iloc[0]["difference"]))
        rows.append(row)
    text = _markdown(
        "Multitask NER: multi-task (MTL, all tasks) vs single-task (STL) at ablation 0 (paper Table 3)",
        "Test word-level P / R / F1, mean ± std over seeds; Δ = MTL − STL of the seed means. Averages cover "
        "only the tasks with both STL and MTL runs.",
        rows,
        columns,
        table,
    )
    test_rows = [
        {
            "metric": SHORT[t.metric],
            "test": "Wilcoxon signed-rank" if t.test == "wilcoxon" else "paired t",
            "tasks": int(t.n_tasks),
            "mean Δ (MTL − STL)": _signed(t.mean_difference),
            "statistic": _fmt(t.statistic, digits=4),
            "p": _p_text(t.p_value),
            "note": t.note,
        }
        for t in tests.itertuples(index=False)
    ]
    text += "\n## MTL vs STL overall: paired tests over tasks (two-sided)\n\n"
    text += (pd.DataFrame(test_rows).to_markdown(index=False) if test_rows else "_No paired tasks._") + "\n"
    return text


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
    rows = _trained(scores, experiment, group)
    rows = rows[rows["split"] == "test"]
    table = summarise(_long(rows, ["word_f1"], keys=["fraction"]), keys=["fraction"])
    if len(table):
        data = (
            rows.groupby(["task", "fraction"])[
                ["train_total", "train_kept", "train_sequences", "task_ablation_fraction"]
            ]
            .mean()
            .rename(columns={"train_sequences": "train_sequences_seen"})
            .reset_index()
        )
        table = table.merge(data, on=["task", "fraction"], how="left")
        data["entity_type"] = [entity_type_of(t) for t in data["task"]]
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
        full = table[_is_zero(table["fraction"])].set_index(["level", "entity_type", "task"])["mean"]
        index = pd.MultiIndex.from_frame(table[["level", "entity_type", "task"]])
        table["change_vs_full"] = table["mean"].to_numpy() - full.reindex(index).to_numpy()
    fractions = sorted(scores.loc[scores["experiment"] == experiment, "fraction"].unique())
    skipped = _skipped(scores, experiment, fractions)
    table = _add_skipped(table, skipped, ["word_f1"])
    return table.reindex(columns=ABLATION_COLUMNS).reset_index(drop=True)


def ablation_markdown(table: pd.DataFrame, title: str, note: str) -> str:
    fractions = sorted(table["fraction"].dropna().unique())
    columns = ["task"] + [f"F1 @ {f:g}" for f in fractions] + [f"kept @ {f:g}" for f in fractions]
    rows = []
    for level, kind, task in _ordered_rows(table):
        part = _select(table, level, kind, task)
        status = _status_text(part)
        row = {"task": _row_label(level, kind, task, int(part["tasks"].max()))}
        for f in fractions:
            cell = part[np.isclose(part["fraction"].astype(float), f)]
            if status:
                row[f"F1 @ {f:g}"] = row[f"kept @ {f:g}"] = status
            elif cell.empty:
                row[f"F1 @ {f:g}"] = row[f"kept @ {f:g}"] = "–"
            else:
                c = cell.iloc[0]
                row[f"F1 @ {f:g}"] = _fmt(c["mean"], c["std"], c["n_seeds"])
                row[f"kept @ {f:g}"] = (
                    "–" if pd.isna(c["train_kept"]) else f"{c['train_kept']:,.0f} / {c['train_total']:,.0f}"
                )
        rows.append(row)
    return _markdown(title, note, rows, columns, table)


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
    rows = _trained(scores, "stl")
    rows = rows[(rows["split"] == "test") & _is_zero(rows["fraction"])]
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
    rows = _trained(scores, "mtl_without")
    rows = rows[(rows["split"] == "test") & _is_zero(rows["fraction"])]
    full_rows = _trained(scores, "mtl", "all")
    full_rows = full_rows[(full_rows["split"] == "test") & _is_zero(full_rows["fraction"])]
    metrics = ["word_f1", "entity_f1"]
    keys = ["level", "entity_type", "task", "metric"]
    full_long = _long(full_rows, metrics)
    parts = []
    if len(full_rows):
        full = summarise(full_long).assign(held_out=FULL_MTL)
        full["full_mtl_mean"] = full["mean"]
        parts.append(full)
    for held_out, part in rows.groupby("group", sort=True):
        long = _long(part, metrics)
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
    table["status"] = table["status"].fillna("trained")
    return table


def fig5_markdown(table: pd.DataFrame) -> str:
    part = table[(table["metric"] == "word_f1") & table["level"].isin(["entity_type", "overall"])]
    groups = [FULL_MTL, *sorted(set(part["held_out"]) - {FULL_MTL}, key=_held_out_rank)]
    kinds = _type_order(part["entity_type"])
    rows = []
    for group in groups:
        here = part[part["held_out"] == group]
        if here.empty:
            continue
        row = {"held out": group}
        for kind in [*kinds, None]:
            cell = here[here["entity_type"] == kind] if kind else here[here["level"] == "overall"]
            name = kind or "all evaluated"
            if _status_text(cell):
                row[name] = "skipped"
            elif cell.empty:
                row[name] = "–" if kind != group else "held out"
            else:
                c = cell.iloc[0]
                change = (
                    ""
                    if group == FULL_MTL or pd.isna(c["change_vs_full_mtl"])
                    else f" ({_signed(c['change_vs_full_mtl'])})"
                )
                row[name] = _fmt(c["mean"], c["std"], c["n_seeds"]) + change
        rows.append(row)
    return _markdown(
        "Multitask NER: MTL with one entity group held out (paper Fig. 5)",
        "Test word F1 per evaluated entity type (macro over its tasks), mean ± std over seeds, at ablation "
        "0; in brackets the change from full MTL on the same tasks. Entity-level F1 and per-task rows are in "
        "fig5_entity_ablation.parquet.",
        rows,
        ["held out", *kinds, "all evaluated"],
        table,
    )


def _held_out_rank(group: str) -> tuple:
    return (ENTITY_ORDER.index(group) if group in ENTITY_ORDER else len(ENTITY_ORDER), group)


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
    finetune = _trained(scores, "finetune")
    tasks = set(finetune["task"])
    parts = []
    for model, rows in (
        ("stl", _trained(scores, "stl")),
        ("mtl", _trained(scores, "mtl", "all")),
        ("finetune", finetune),
    ):
        rows = rows[(rows["split"] == "test") & rows["task"].isin(tasks)]
        if not len(rows):
            continue
        table = summarise(_long(rows, ["word_f1"], keys=["fraction"]), keys=["fraction"]).assign(model=model)
        kept = rows.groupby(["task", "fraction"])["train_kept"].mean().rename("train_kept").reset_index()
        parts.append(table.merge(kept, on=["task", "fraction"], how="left"))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TABLE6_COLUMNS)
    fractions = sorted(scores.loc[scores["experiment"] == "finetune", "fraction"].unique())
    skipped = _skipped(scores, "finetune", fractions)
    table = _add_skipped(table, skipped, ["word_f1"], model="finetune")
    return table.reindex(columns=TABLE6_COLUMNS).reset_index(drop=True)


def table6_markdown(table: pd.DataFrame) -> str:
    fractions = sorted(table["fraction"].dropna().unique())
    columns = ["task", "ablation", "STL", "MTL", "fine-tuned", "fine-tuned − STL", "fine-tuned − MTL"]
    rows = []
    for level, kind, task in _ordered_rows(table):
        part = _select(table, level, kind, task)
        label = _row_label(level, kind, task, int(part["tasks"].max()))
        if _status_text(part):
            rows.append(
                {
                    "task": label,
                    "ablation": "–",
                    "STL": "–",
                    "MTL": "–",
                    "fine-tuned": "skipped",
                    "fine-tuned − STL": "–",
                    "fine-tuned − MTL": "–",
                }
            )
            continue
        for f in fractions:
            here = part[np.isclose(part["fraction"].astype(float), f)]
            means = {m: here.loc[here["model"] == m, "mean"] for m in ("stl", "mtl", "finetune")}
            row = {"task": label, "ablation": f"{f:g}"}
            for model, name in MODEL_LABELS.items():
                cell = here[here["model"] == model]
                row[name] = (
                    "–"
                    if cell.empty
                    else _fmt(cell.iloc[0]["mean"], cell.iloc[0]["std"], cell.iloc[0]["n_seeds"])
                )
            ft = means["finetune"].iloc[0] if len(means["finetune"]) else math.nan
            for other in ("stl", "mtl"):
                value = means[other].iloc[0] if len(means[other]) else math.nan
                row[f"fine-tuned − {MODEL_LABELS[other]}"] = _signed(ft - value)
            rows.append(row)
    return _markdown(
        "Multitask NER: held-out tasks fine-tuned from the entity-ablated MTL encoder (paper Table 6)",
        "Each task is fine-tuned single-task from the encoder of MTL trained without every task of its "
        "entity type; test word F1, mean ± std over seeds, beside STL and MTL (all tasks) at the same "
        "ablation fraction. Averages are macro over the fine-tuned tasks each model has.",
        rows,
        columns,
        table,
    )


# -------------------------------------------------------------------------------- Table 7 (entity level)

TABLE7_COLUMNS = ["model", *SUMMARY_COLUMNS, "status", "reason"]


def table7_entity_level(scores: pd.DataFrame) -> pd.DataFrame:
    """Entity-level strict P / R / F1 and word-level F1 on test, STL and MTL (all tasks) at ablation 0."""
    parts = []
    for model, rows in (("stl", _trained(scores, "stl")), ("mtl", _trained(scores, "mtl", "all"))):
        rows = rows[(rows["split"] == "test") & _is_zero(rows["fraction"])]
        table = summarise(_long(rows, ["word_f1", *ENTITY_PRF])).assign(model=model)
        parts.append(_add_skipped(table, _skipped(scores, model, [0.0]), ["entity_f1"], model=model))
    parts = [p for p in parts if len(p)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return table.reindex(columns=TABLE7_COLUMNS)


def table7_markdown(table: pd.DataFrame) -> str:
    metrics = ["word_f1", *ENTITY_PRF]
    names = {
        "word_f1": "word F1",
        "entity_precision": "entity P",
        "entity_recall": "entity R",
        "entity_f1": "entity F1",
    }
    columns = ["task"] + [f"{MODEL_LABELS[m]} {names[x]}" for m in ("stl", "mtl") for x in metrics]
    rows = []
    for level, kind, task in _ordered_rows(table):
        part = _select(table, level, kind, task)
        row = {"task": _row_label(level, kind, task, int(part["tasks"].max()))}
        for model in ("stl", "mtl"):
            mine = part[part["model"] == model]
            status = _status_text(mine)
            for metric in metrics:
                cell = mine[mine["metric"] == metric]
                row[f"{MODEL_LABELS[model]} {names[metric]}"] = status or (
                    "–"
                    if cell.empty
                    else _fmt(cell.iloc[0]["mean"], cell.iloc[0]["std"], cell.iloc[0]["n_seeds"])
                )
        rows.append(row)
    return _markdown(
        "Multitask NER: entity-level (strict) scores beside word-level F1, ablation 0 (paper Table 7)",
        "Test split; entity-level: a mention counts only with exact boundaries and type. Mean ± std over "
        "seeds; averages macro over each model's tasks.",
        rows,
        columns,
        table,
    )


# -------------------------------------------------------------------------------- figures

COLORS = {"cell_line": "tab:purple", "chemical": "tab:orange", "gene": "tab:green", "species": "tab:blue"}
MODEL_STYLE = {
    "stl": ("tab:gray", "s", "--"),
    "mtl": ("tab:blue", "o", "-"),
    "finetune": ("tab:red", "^", "-"),
}


def _save(fig, target: Path, title: str) -> None:
    """PNG + SVG, each written atomically; ``title`` goes into both files' metadata."""
    for suffix in ("png", "svg"):
        with atomic_path(target.with_suffix(f".{suffix}")) as temporary:
            fig.savefig(temporary, format=suffix, dpi=130, metadata={"Title": title})
    plt.close(fig)


def _suptitle(fig, text: str) -> None:
    """The figure title, each line wrapped to the figure's width (about 9 characters per inch at 11 pt)."""
    width = max(20, int(fig.get_figwidth() * 9))
    fig.suptitle("\n".join(textwrap.fill(line, width) for line in text.split("\n")), fontsize=11)


def _no_runs(target: Path, title: str, message: str) -> None:
    fig, axis = plt.subplots(figsize=(6.4, 3.2))
    axis.axis("off")
    axis.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, wrap=True)
    _suptitle(fig, title)
    _save(fig, target, f"{title}: {message}")


def _color(kind: str) -> str:
    return COLORS.get(kind, "tab:brown")


def _p_text(p: float) -> str:
    if pd.isna(p):
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else ("< 1e-300" if p == 0 else f"{p:.1e}")


def _p_relation(p: float) -> str:
    text = _p_text(p)
    return text if text.startswith("<") else f"= {text}"


def fig4_figure(points: pd.DataFrame, statistics: pd.DataFrame, target: Path, encoder: str) -> None:
    title = f"STL test word F1 vs training data (paper Fig. 4; {encoder}, ablation 0)"
    if points["test_word_f1"].notna().sum() == 0:
        _no_runs(target, title, "no STL runs at ablation 0")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for axis, (variable, label) in zip(axes, FIG4_VARIABLES.items(), strict=True):
        usable = points.dropna(subset=[variable, "test_word_f1"])
        for kind in _type_order(usable["entity_type"]):
            part = usable[usable["entity_type"] == kind]
            axis.scatter(
                part[variable],
                part["test_word_f1"],
                color=_color(kind),
                label=kind,
                s=36,
                edgecolor="black",
                linewidth=0.4,
                zorder=3,
            )
        s = statistics.set_index("variable").loc[variable]
        if pd.notna(s["slope"]):
            xs = np.linspace(usable[variable].min(), usable[variable].max(), 50)
            axis.plot(
                xs,
                s["slope"] * xs + s["intercept"],
                color="black",
                linewidth=1,
                alpha=0.7,
                label="least-squares line",
            )
            stat_text = (
                f"Pearson r = {s['pearson_r']:.3f}, r² = {s['r_squared']:.3f}, p {_p_relation(s['p_value'])}"
            )
        else:
            stat_text = f"Pearson r undefined ({int(s['n_tasks'])} tasks or constant values)"
        axis.set_title(f"{stat_text}\nn = {int(s['n_tasks'])} tasks", fontsize=9.5)
        axis.set_xlabel(label)
        axis.set_ylabel("test word-level F1 (mean over seeds)")
        axis.grid(alpha=0.3)
        if variable == "train_sequences" and usable[variable].max() > 20 * max(usable[variable].min(), 1):
            axis.set_xscale("log")
            axis.set_xlabel(label + " (log scale; r on raw counts)")
        axis.legend(fontsize=8, loc="best")
    capped = points.dropna(subset=["corpus_train_sequences"])
    capped = capped[capped["train_sequences"] < capped["corpus_train_sequences"]]
    note = (
        f" — {len(capped)} tasks capped below the corpus's training sequences (small tier)"
        if len(capped)
        else ""
    )
    _suptitle(fig, title + note)
    fig.tight_layout()
    _save(fig, target, title)


def fig5_figure(table: pd.DataFrame, target: Path, encoder: str) -> None:
    title = f"MTL with one entity group held out (paper Fig. 5; {encoder}, ablation 0)"
    part = table[
        (table["metric"] == "word_f1") & (table["level"] == "entity_type") & (table["status"] == "trained")
    ]
    if part[part["held_out"] != FULL_MTL].empty:
        _no_runs(target, title, "no entity-ablated MTL runs (mtl_without) at ablation 0")
        return
    held_out = sorted(set(part["held_out"]) - {FULL_MTL}, key=_held_out_rank)
    kinds = _type_order(part["entity_type"])
    width = 0.8 / max(len(kinds), 1)
    fig, axes = plt.subplots(
        1,
        2,
        figsize=(12, 5),
        layout="constrained",
        gridspec_kw={"width_ratios": [len(held_out) + 1, max(len(held_out), 1)]},
    )
    panels = (
        (
            axes[0],
            [FULL_MTL, *held_out] if (part["held_out"] == FULL_MTL).any() else held_out,
            "mean",
            "std",
            "test word-level F1 (macro over tasks)",
            "Score per evaluated entity type",
        ),
        (
            axes[1],
            held_out,
            "change_vs_full_mtl",
            "change_std",
            "change in F1 from full MTL (same tasks)",
            "Change from full MTL on the same tasks",
        ),
    )
    for axis, groups, column, spread, ylabel, subtitle in panels:
        x = np.arange(len(groups))
        for k, kind in enumerate(kinds):
            here = part[part["entity_type"] == kind].set_index("held_out").reindex(groups)
            axis.bar(
                x + (k - (len(kinds) - 1) / 2) * width,
                here[column].to_numpy(dtype=float),
                width,
                yerr=here[spread].fillna(0).to_numpy(dtype=float),
                capsize=2,
                color=_color(kind),
                label=kind,
                edgecolor="black",
                linewidth=0.4,
            )
        axis.set_xticks(x, [g.replace(" (", "\n(") for g in groups])
        axis.set_xlabel("entity group held out of MTL training")
        axis.set_ylabel(ylabel)
        axis.set_title(subtitle, fontsize=10)
        axis.grid(axis="y", alpha=0.3)
    axes[1].axhline(0, color="black", linewidth=0.8)
    if part["change_vs_full_mtl"].isna().all():
        axes[1].text(
            0.5, 0.5, "no full-MTL runs at ablation 0", ha="center", va="center", transform=axes[1].transAxes
        )
    skipped = sorted(set(table.loc[table["status"] == "skipped", "held_out"]), key=_held_out_rank)
    note = f"; held-out runs skipped: {', '.join(skipped)}" if skipped else ""
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        title="evaluated tasks",
        loc="outside lower center",
        ncol=len(labels),
        fontsize=9,
        title_fontsize=9,
        frameon=False,
    )
    _suptitle(fig, f"{title}\nmean ± std over seeds{note}")
    _save(fig, target, title)


def fig6_figure(table: pd.DataFrame, target: Path, encoder: str) -> None:
    title = f"Held-out tasks fine-tuned from the entity-ablated MTL encoder (paper Fig. 6; {encoder})"
    trained = table[(table["level"] == "task") & (table["status"] == "trained")]
    tasks = _task_order(trained.loc[trained["model"] == "finetune", "task"])
    if not tasks:
        _no_runs(target, title, "no fine-tuning runs")
        return
    columns = min(4, len(tasks))
    n_rows = math.ceil(len(tasks) / columns)
    fig, axes = plt.subplots(
        n_rows,
        columns,
        figsize=(max(3.4 * columns + 0.6, 7.0), 2.6 * n_rows + 1.4),
        squeeze=False,
        sharey=True,
        sharex=True,
        layout="constrained",
    )
    for axis in axes.flat[len(tasks) :]:
        axis.axis("off")
    for axis, task in zip(axes.flat, tasks, strict=False):
        for model, label in MODEL_LABELS.items():
            part = trained[(trained["task"] == task) & (trained["model"] == model)].sort_values("fraction")
            if part.empty:
                continue
            color, marker, style = MODEL_STYLE[model]
            axis.errorbar(
                part["fraction"],
                part["mean"],
                yerr=part["std"].fillna(0),
                color=color,
                marker=marker,
                linestyle=style,
                markersize=4,
                capsize=2,
                label=label,
            )
        axis.set_title(f"{task} ({entity_type_of(task)})", fontsize=9)
        axis.grid(alpha=0.3)
        axis.tick_params(labelsize=8, labelbottom=True)
    for column in range(columns):  # x label under the lowest panel of each column
        lowest = max(i for i in range(len(tasks)) if i % columns == column)
        axes.flat[lowest].set_xlabel("ablation fraction\n(share of training sequences removed)", fontsize=8)
    for axis in axes[:, 0]:
        axis.set_ylabel("test word-level F1", fontsize=9)
    handles = {
        label: handle
        for axis in axes.flat
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True)
    }
    if len(tasks) < axes.size:  # the legend fills the first empty panel
        axes.flat[len(tasks)].legend(
            list(handles.values()), list(handles), loc="center", fontsize=10, title="model", frameon=False
        )
    else:
        fig.legend(
            list(handles.values()),
            list(handles),
            loc="outside lower center",
            ncol=len(handles),
            fontsize=9,
            frameon=False,
        )
    skipped = sorted(set(table.loc[table["status"] == "skipped", "task"].dropna()))
    note = f"\nskipped (no corpus): {', '.join(skipped)}" if skipped else ""
    _suptitle(fig, f"{title}; mean ± std over seeds{note}")
    _save(fig, target, title)


# -------------------------------------------------------------------------------- entry point


def write_report(run_dirs: Sequence[Path], corpus_stats: Path, sequence_table: Path, out_dir: Path) -> None:
    """Read every run and write all tables (``.parquet`` + ``.md``) and figures (``.png`` + ``.svg``) under
    ``out_dir`` (see :func:`output_files`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scores = collect_scores(run_dirs)
    encoder = scores["encoder"].iloc[0] if len(scores) else out_dir.parent.name
    counts = scores.drop_duplicates(["experiment", "group", "fraction", "seed"]).groupby("experiment").size()
    log.info("%d runs: %s", int(counts.sum()), ", ".join(f"{k} {v}" for k, v in counts.items()) or "none")
    skipped_runs = scores[scores["status"] == "skipped"]
    if len(skipped_runs):
        log.warning(
            "%d skipped run/task entries (tasks: %s)",
            len(skipped_runs),
            ", ".join(sorted(set(skipped_runs["task"].dropna()))) or "-",
        )
    stats_table = pd.read_parquet(corpus_stats)
    sequences = pd.read_parquet(sequence_table)
    _write_table(scores, out_dir, "scores")

    def table1() -> None:
        table = table1_mentions(stats_table, scores)
        _write_table(table, out_dir, "table1_mentions", table1_markdown(table))

    def table2() -> None:
        table = table2_stl(scores)
        _write_table(table, out_dir, "table2_stl", table2_markdown(table))

    def table3() -> None:
        table, tests = table3_mtl_vs_stl(scores)
        _write_table(table, out_dir, "table3_mtl_vs_stl", table3_markdown(table, tests))
        _write_table(tests, out_dir, "table3_mtl_vs_stl_tests")

    def tables45() -> None:
        note = (
            "Test word F1 (mean ± std over seeds) per ablation fraction (share of training sequences "
            "removed); `kept`: training sequences kept / available to the run (best.json data record), "
            "seed mean; averages give sums. `change_vs_full` and the sequences seen in the best epoch are in "
            "the parquet table."
        )
        stl = ablation_table(scores, "stl")
        _write_table(
            stl,
            out_dir,
            "table4_stl_ablation",
            ablation_markdown(stl, "Multitask NER: single-task (STL) data ablation (paper Table 4)", note),
        )
        mtl = ablation_table(scores, "mtl", "all")
        _write_table(
            mtl,
            out_dir,
            "table5_mtl_ablation",
            ablation_markdown(
                mtl, "Multitask NER: multi-task (MTL, all tasks) data ablation (paper Table 5)", note
            ),
        )

    def fig4() -> None:
        points, statistics = fig4_data(scores, stats_table, sequences)
        _write_table(points, out_dir, "fig4_stl_correlation")
        _write_table(statistics, out_dir, "fig4_stl_correlation_stats")
        shown = [
            {
                "variable": FIG4_VARIABLES[row.variable],
                "tasks": row.n_tasks,
                "Pearson r": _fmt(row.pearson_r),
                "r²": _fmt(row.r_squared),
                "p": _p_text(row.p_value),
            }
            for row in statistics.itertuples(index=False)
        ]
        write_text(
            _markdown(
                "Multitask NER: STL test word F1 vs training data (paper Fig. 4)",
                "Pearson correlation over tasks (STL, ablation 0, seed means; two-sided p). Training "
                "sequences: those the STL run had (best.json); the corpus's own count is "
                "`corpus_train_sequences` in fig4_stl_correlation.parquet, the fitted lines in "
                "fig4_stl_correlation_stats.parquet.",
                shown,
                ["variable", "tasks", "Pearson r", "r²", "p"],
            ),
            out_dir / "fig4_stl_correlation.md",
        )
        fig4_figure(points, statistics, out_dir / "fig4_stl_correlation", encoder)

    def fig5() -> None:
        table = fig5_data(scores)
        _write_table(table, out_dir, "fig5_entity_ablation", fig5_markdown(table))
        fig5_figure(table, out_dir / "fig5_entity_ablation", encoder)

    def table6() -> None:
        table = table6_finetune(scores)
        _write_table(table, out_dir, "table6_finetune", table6_markdown(table))
        fig6_figure(table, out_dir / "fig6_finetune", encoder)

    def table7() -> None:
        table = table7_entity_level(scores)
        _write_table(table, out_dir, "table7_entity_level", table7_markdown(table))

    steps: list[tuple[str, Callable[[], None]]] = [
        ("table1", table1),
        ("table2", table2),
        ("table3", table3),
        ("tables4-5", tables45),
        ("fig4", fig4),
        ("fig5", fig5),
        ("table6", table6),
        ("table7", table7),
    ]
    for name, step in steps:
        step()
        log.info("%s written", name)
