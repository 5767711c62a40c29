"""Markdown renderings of the report's tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mtaal.results.multitask_report.summary import ENTITY_PRF, WORD_PRF, held_out_rank, task_order, type_order
from mtaal.results.multitask_report.tables import FIG4_VARIABLES, FULL_MTL

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


# -------------------------------------------------------------------------------- formatting


def fmt(mean: float, std: float = math.nan, n: int = 0, digits: int = 3) -> str:
    if mean is None or pd.isna(mean):
        return "–"
    text = f"{mean:.{digits}f}"
    if n and n > 1 and pd.notna(std):
        text += f" ± {std:.{digits}f}"
    return text


def _signed(value: float, digits: int = 3) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:+.{digits}f}"


def p_text(p: float) -> str:
    if pd.isna(p):
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else ("< 1e-300" if p == 0 else f"{p:.1e}")


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
    for kind in type_order([*tasks["entity_type"], *averages["entity_type"]]):
        out += [("task", kind, t) for t in task_order(tasks[tasks["entity_type"] == kind])]
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


def _status_text(rows: pd.DataFrame) -> str | None:
    """ "skipped" when every row of a table cell is a skipped task."""
    if len(rows) and (rows["status"] == "skipped").all():
        return "skipped"
    return None


# -------------------------------------------------------------------------------- tables and figure data


def table1_markdown(table: pd.DataFrame) -> str:
    rows = []
    for task in task_order(table):
        part = table[table["task"] == task]
        row = {"task": task, "entity type": part["entity_type"].iloc[0]}
        for split in ("train", "dev", "test", "all"):
            value = part.loc[part["split"] == split, "mentions"]
            row[split] = "–" if value.empty or pd.isna(value.iloc[0]) else f"{int(value.iloc[0]):,}"
        row["status"] = part["status"].iloc[0]
        rows.append(row)
    built = table[(table["status"] == "built") & table["mentions"].notna()]
    for kind in type_order(built["entity_type"]):
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
            elif cell.empty or (metric == "best_epoch" and level != "task"):
                row[column] = "–"  # the paper leaves an average's epoch empty: a mean of epochs means nothing
            else:
                c = cell.iloc[0]
                # An epoch is a whole number: one seed (or seeds that agree) prints it as such.
                whole = metric == "best_epoch" and float(c["mean"]).is_integer()
                digits = 0 if whole else 1 if metric == "best_epoch" else 3
                row[column] = fmt(c["mean"], c["std"], c["n_seeds"], digits)
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
                    else fmt(
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
            "statistic": fmt(t.statistic, digits=4),
            "p": p_text(t.p_value),
            "note": t.note,
        }
        for t in tests.itertuples(index=False)
    ]
    text += "\n## MTL vs STL overall: paired tests over tasks (two-sided)\n\n"
    text += (pd.DataFrame(test_rows).to_markdown(index=False) if test_rows else "_No paired tasks._") + "\n"
    return text


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
                row[f"F1 @ {f:g}"] = fmt(c["mean"], c["std"], c["n_seeds"])
                row[f"kept @ {f:g}"] = (
                    "–" if pd.isna(c["train_kept"]) else f"{c['train_kept']:,.0f} / {c['train_total']:,.0f}"
                )
        rows.append(row)
    return _markdown(title, note, rows, columns, table)


def fig4_markdown(statistics: pd.DataFrame) -> str:
    shown = [
        {
            "variable": FIG4_VARIABLES[row.variable],
            "tasks": row.n_tasks,
            "Pearson r": fmt(row.pearson_r),
            "r²": fmt(row.r_squared),
            "p": p_text(row.p_value),
        }
        for row in statistics.itertuples(index=False)
    ]
    return _markdown(
        "Multitask NER: STL test word F1 vs training data (paper Fig. 4)",
        "Pearson correlation over tasks (STL, ablation 0, seed means; two-sided p). Training "
        "sequences: those the STL run had (best.json); the corpus's own count is "
        "`corpus_train_sequences` in fig4_stl_correlation.parquet, the fitted lines in "
        "fig4_stl_correlation_stats.parquet.",
        shown,
        ["variable", "tasks", "Pearson r", "r²", "p"],
    )


def fig5_markdown(table: pd.DataFrame) -> str:
    part = table[(table["metric"] == "word_f1") & table["level"].isin(["entity_type", "overall"])]
    groups = [FULL_MTL, *sorted(set(part["held_out"]) - {FULL_MTL}, key=held_out_rank)]
    kinds = type_order(part["entity_type"])
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
                row[name] = fmt(c["mean"], c["std"], c["n_seeds"]) + change
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
                    else fmt(cell.iloc[0]["mean"], cell.iloc[0]["std"], cell.iloc[0]["n_seeds"])
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
                    else fmt(cell.iloc[0]["mean"], cell.iloc[0]["std"], cell.iloc[0]["n_seeds"])
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
