"""Selecting score rows and summarising them over seeds and tasks; the reading order of tasks and types."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from mtaal.stats import over_seeds

WORD_PRF = ("word_precision", "word_recall", "word_f1")
ENTITY_PRF = ("entity_precision", "entity_recall", "entity_f1")
ENTITY_ORDER = ("cell_line", "chemical", "gene", "species")


def is_zero(fraction: pd.Series) -> pd.Series:
    return np.isclose(fraction.astype(float), 0.0)


def trained_rows(scores: pd.DataFrame, experiment: str, group: str | None = None) -> pd.DataFrame:
    keep = (scores["experiment"] == experiment) & (scores["status"] == "trained")
    if group is not None:
        keep &= scores["group"] == group
    return scores[keep]


def skipped_tasks(
    scores: pd.DataFrame, experiment: str, fractions: Sequence[float] | None = None
) -> pd.DataFrame:
    """Tasks skipped in ``experiment`` (and never trained there): task, entity_type, reason."""
    rows = scores[(scores["experiment"] == experiment) & scores["task"].notna()]
    if fractions is not None:
        rows = rows[np.isin(rows["fraction"].astype(float), list(fractions))]
    trained = set(rows.loc[rows["status"] == "trained", "task"])
    skipped = rows[(rows["status"] == "skipped") & ~rows["task"].isin(trained)]
    return skipped.drop_duplicates("task")[["task", "entity_type", "reason"]].reset_index(drop=True)


def long_form(rows: pd.DataFrame, metrics: Sequence[str], keys: Sequence[str] = ()) -> pd.DataFrame:
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
        per_task = over_seeds(long, [*keys, "entity_type", "task", "metric"]).assign(level="task", tasks=1)
        parts.append(per_task)
    for level, by in (("entity_type", ["entity_type"]), ("overall", [])):
        if level not in levels:
            continue
        per_seed = (
            long.groupby([*keys, *by, "metric", "seed"], sort=False, dropna=False)
            .agg(value=("value", "mean"), tasks=("task", "nunique"))
            .reset_index()
        )
        summary = over_seeds(per_seed, [*keys, *by, "metric"], tasks=("tasks", "max")).assign(level=level)
        if level == "overall":
            summary["entity_type"] = None
        summary["task"] = None
        parts.append(summary)
    out = pd.concat(parts, ignore_index=True)[columns]
    return out.astype({"n_seeds": "int64", "tasks": "int64"})


def task_order(rows: pd.DataFrame) -> list[str]:
    """The tasks of ``rows`` (columns ``task``, ``entity_type``: the runs' own) by entity type, then name."""
    types = dict(zip(rows["task"], rows["entity_type"], strict=True))

    def rank(task: str) -> tuple:
        kind = types[task]
        kind = kind if isinstance(kind, str) else ""
        return (ENTITY_ORDER.index(kind) if kind in ENTITY_ORDER else len(ENTITY_ORDER), kind, task)

    return sorted(set(rows["task"].dropna()), key=rank)


def type_order(types: Iterable[str]) -> list[str]:
    present = {t for t in types if isinstance(t, str)}
    return [t for t in ENTITY_ORDER if t in present] + sorted(present - set(ENTITY_ORDER))


def held_out_rank(group: str) -> tuple:
    return (ENTITY_ORDER.index(group) if group in ENTITY_ORDER else len(ENTITY_ORDER), group)


def add_skipped(table: pd.DataFrame, skipped: pd.DataFrame, metrics: Sequence[str], **keys) -> pd.DataFrame:
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
