"""The multitask paper's Figs. 5 and 6 as printed, from the results store.

Fig. 5: MTL trained without one entity group; bars per evaluated entity group, one per held-out group,
with the *within-group standard error* over tasks as error bars (the paper's caption). Fig. 6: tasks
fine-tuned from the entity-ablated MTL encoder, *averaged over the tasks of each entity group*, against the
data-ablation amount, beside STL and MTL at the same amounts. Both on the paper's word-level F1
(``word_io_f1``, test split, best dev epoch); a task's seeds are averaged before the tasks are.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyarrow as pa

from mtaal.io import save_figure, write_parquet
from mtaal.results.figure_text import pipeline_check, wrapped_suptitle

METRIC = "word_io_f1"
ENTITY_ORDER = ("cell_line", "chemical", "gene", "species")
FULL_MTL = "none (full MTL)"
FIG5_COLUMNS = ["held_out", "entity_type", "tasks", "n_seeds", "mean", "se"]
FIG6_COLUMNS = ["entity_type", "model", "ablation_fraction", "tasks", "n_seeds", "mean", "se"]
FIG6_MODELS = {"finetune": "STL from entity-ablated MTL", "stl": "STL", "mtl": "MTL"}


def _final_test(store: pd.DataFrame, experiments: Sequence[str]) -> pd.DataFrame:
    rows = store[(store["paper"] == "multitask") & store["experiment"].isin(list(experiments))
                 & store["final"].astype(bool) & (store["split"] == "test") & (store["metric"] == METRIC)]
    return rows.assign(ablation_fraction=rows["ablation_fraction"].astype(float).round(4))


def _over_tasks(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per task: mean over seeds; then per ``keys``: mean and standard error over tasks."""
    per_task = rows.groupby([*keys, "dataset"]).agg(value=("value", "mean"), n_seeds=("seed", "nunique"))
    grouped = per_task.groupby(keys)
    out = grouped["value"].agg(mean="mean", sd="std", tasks="count").reset_index()
    out["se"] = out["sd"] / np.sqrt(out["tasks"])
    out["n_seeds"] = grouped["n_seeds"].min().to_numpy()
    return out.drop(columns="sd")


def fig5_table(store: pd.DataFrame) -> pd.DataFrame:
    """Entity-ablated MTL at ablation 0: mean and within-group standard error per (held out, evaluated)."""
    rows = _final_test(store, ["mtl_without", "mtl"])
    rows = rows[rows["ablation_fraction"] == 0]
    if rows.empty:
        return pd.DataFrame(columns=FIG5_COLUMNS)
    held_out = np.where(rows["experiment"] == "mtl", FULL_MTL, rows["setting"].str.split("/").str[-1])
    table = _over_tasks(rows.assign(held_out=held_out), ["held_out", "entity_type"])
    return table[FIG5_COLUMNS]


def fig6_table(store: pd.DataFrame) -> pd.DataFrame:
    """Per entity group and ablation amount: the group average of fine-tuned, STL and MTL test F1 over the
    group's tasks that were fine-tuned (so the three lines average the same tasks)."""
    rows = _final_test(store, list(FIG6_MODELS))
    tuned = set(rows.loc[rows["experiment"] == "finetune", "dataset"])
    rows = rows[rows["dataset"].isin(tuned)]
    if rows.empty:
        return pd.DataFrame(columns=FIG6_COLUMNS)
    rows = rows.drop(columns="model").rename(columns={"experiment": "model"})
    table = _over_tasks(rows, ["entity_type", "model", "ablation_fraction"])
    return table[FIG6_COLUMNS]


def _order(values: Sequence[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(ENTITY_ORDER)}
    return sorted(set(values), key=lambda v: (rank.get(v, len(rank)), v))


def _empty(targets: Sequence[Path], title: str, message: str) -> None:
    fig, axis = plt.subplots(figsize=(7, 3))
    axis.axis("off")
    axis.text(0.5, 0.5, message, ha="center", va="center")
    wrapped_suptitle(fig, title)
    save_figure(fig, targets, dpi=150)


def fig5_figure(table: pd.DataFrame, targets: Sequence[Path], caption: str) -> None:
    title = "Entity-ablated MTL (paper Fig. 5)"
    if table.empty:
        _empty(targets, title, "no entity-ablated MTL runs at this tier")
        return
    evaluated = _order(table["entity_type"])
    held = [h for h in (FULL_MTL, *ENTITY_ORDER) if h in set(table["held_out"])]
    width = 0.8 / len(held)
    fig, axis = plt.subplots(figsize=(8, 4.5), layout="constrained")
    x = np.arange(len(evaluated))
    for k, group in enumerate(held):
        part = table[table["held_out"] == group].set_index("entity_type").reindex(evaluated)
        axis.bar(x + (k - (len(held) - 1) / 2) * width, part["mean"], width, yerr=part["se"].fillna(0),
                 capsize=3, label=f"without {group}" if group != FULL_MTL else group,
                 edgecolor="black", linewidth=0.4)
    axis.set_xticks(x, evaluated)
    axis.set_xlabel("evaluated task group")
    axis.set_ylabel("test word-level F1 (B-/I- stripped), group mean")
    axis.set_ylim(0, 1)
    axis.grid(axis="y", alpha=0.3)
    # Beside the axes: inside, it would cover whichever group scores low at a given tier.
    fig.legend(title="MTL trained", fontsize=8, title_fontsize=8, loc="outside right upper")
    wrapped_suptitle(fig, f"{title}\nerror bars: within-group standard error over tasks; {caption}",
                     fontsize=10)
    save_figure(fig, targets, dpi=150)


def fig6_figure(table: pd.DataFrame, targets: Sequence[Path], caption: str) -> None:
    title = "STL pre-trained by entity-ablated MTL, entity-group averages (paper Fig. 6)"
    if table.empty:
        _empty(targets, title, "no fine-tuning runs at this tier")
        return
    groups = _order(table["entity_type"])
    fig, axes = plt.subplots(1, len(groups), figsize=(3.4 * len(groups) + 0.6, 3.8), sharey=True,
                             squeeze=False, layout="constrained")
    for axis, group in zip(axes[0], groups, strict=True):
        for model, label in FIG6_MODELS.items():
            part = table[(table["entity_type"] == group) & (table["model"] == model)]
            part = part.sort_values("ablation_fraction")
            if part.empty:
                continue
            axis.errorbar(part["ablation_fraction"], part["mean"], yerr=part["se"].fillna(0), marker="o",
                          markersize=4, capsize=2, label=label)
        tasks = int(table.loc[table["entity_type"] == group, "tasks"].max())
        axis.set_title(f"{group} ({tasks} task{'s' if tasks != 1 else ''})", fontsize=10)
        axis.set_xlabel("ablation amount (training data removed)")
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("test word-level F1, group mean")
    axes[0][0].set_ylim(0, 1)
    axes[0][0].legend(fontsize=8)
    wrapped_suptitle(fig, f"{title}\nerror bars: standard error over tasks; {caption}", fontsize=10)
    save_figure(fig, targets, dpi=150)


def write_paper_figures(store: pd.DataFrame, fig5: Path, fig5_figures: Sequence[Path], fig6: Path,
                        fig6_figures: Sequence[Path], caption: str) -> None:
    """Figs. 5 and 6: each table as parquet and its figure (.png, .svg)."""
    table5, table6 = fig5_table(store), fig6_table(store)
    write_parquet(pa.Table.from_pandas(table5, preserve_index=False), fig5)
    write_parquet(pa.Table.from_pandas(table6, preserve_index=False), fig6)
    runs = store[store["paper"] == "multitask"] if "paper" in store else store.iloc[:0]
    caption += pipeline_check(runs.get("tier", []))
    fig5_figure(table5, fig5_figures, caption)
    fig6_figure(table6, fig6_figures, caption)
