"""The report's figures (paper Figs. 4-6), each PNG + SVG."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mtaal.io import png_and_svg, save_figure
from mtaal.results.figure_text import wrapped_suptitle
from mtaal.results.multitask_report.markdown import MODEL_LABELS, p_text
from mtaal.results.multitask_report.summary import held_out_rank, task_order, type_order
from mtaal.results.multitask_report.tables import FIG4_VARIABLES, FULL_MTL

COLORS = {"cell_line": "tab:purple", "chemical": "tab:orange", "gene": "tab:green", "species": "tab:blue"}
MODEL_STYLE = {
    "stl": ("tab:gray", "s", "--"),
    "mtl": ("tab:blue", "o", "-"),
    "finetune": ("tab:red", "^", "-"),
}


def _no_runs(target: Path, title: str, message: str) -> None:
    fig, axis = plt.subplots(figsize=(6.4, 3.2))
    axis.axis("off")
    axis.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, wrap=True)
    wrapped_suptitle(fig, title)
    save_figure(fig, png_and_svg(target), dpi=130, metadata={"Title": f"{title}: {message}"})


def _color(kind: str) -> str:
    return COLORS.get(kind, "tab:brown")


def _p_relation(p: float) -> str:
    text = p_text(p)
    return text if text.startswith("<") else f"= {text}"


def fig4_figure(points: pd.DataFrame, statistics: pd.DataFrame, target: Path, encoder: str,
                check: str = "") -> None:
    title = f"STL test word F1 vs training data (paper Fig. 4; {encoder}, ablation 0)"
    if points["test_word_f1"].notna().sum() == 0:
        _no_runs(target, title, "no STL runs at ablation 0")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for axis, (variable, label) in zip(axes, FIG4_VARIABLES.items(), strict=True):
        usable = points.dropna(subset=[variable, "test_word_f1"])
        for kind in type_order(usable["entity_type"]):
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
    wrapped_suptitle(fig, title + note + check)
    fig.tight_layout()
    save_figure(fig, png_and_svg(target), dpi=130, metadata={"Title": title})


def fig5_figure(table: pd.DataFrame, target: Path, encoder: str, check: str = "") -> None:
    title = f"MTL with one entity group held out (paper Fig. 5; {encoder}, ablation 0)"
    part = table[
        (table["metric"] == "word_f1") & (table["level"] == "entity_type") & (table["status"] == "trained")
    ]
    if part[part["held_out"] != FULL_MTL].empty:
        _no_runs(target, title, "no entity-ablated MTL runs (mtl_without) at ablation 0")
        return
    held_out = sorted(set(part["held_out"]) - {FULL_MTL}, key=held_out_rank)
    kinds = type_order(part["entity_type"])
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
    skipped = sorted(set(table.loc[table["status"] == "skipped", "held_out"]), key=held_out_rank)
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
    wrapped_suptitle(fig, f"{title}\nmean ± std over seeds{note}" + check)
    save_figure(fig, png_and_svg(target), dpi=130, metadata={"Title": title})


def fig6_figure(table: pd.DataFrame, target: Path, encoder: str, check: str = "") -> None:
    title = f"Held-out tasks fine-tuned from the entity-ablated MTL encoder (paper Fig. 6; {encoder})"
    trained = table[(table["level"] == "task") & (table["status"] == "trained")]
    tasks = task_order(trained[trained["model"] == "finetune"])
    types = dict(zip(trained["task"], trained["entity_type"], strict=True))
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
        axis.set_title(f"{task} ({types[task]})", fontsize=9)
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
    wrapped_suptitle(fig, f"{title}; mean ± std over seeds{note}" + check)
    save_figure(fig, png_and_svg(target), dpi=130, metadata={"Title": title})
