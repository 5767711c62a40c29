"""MTAAL runs -> the paper's curve figures (Figs. 6-8) and the annotation-cost figure, PNG + SVG.

They read the runs' rounds in the shape :func:`~mtaal.results.store.rounds_from_store` gives them from the
results store (one row per run and round, a column per metric); the tables: :mod:`mtaal.results.mtaal_tables`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from mtaal.io import png_and_svg, save_figure
from mtaal.results.figure_text import wrapped_suptitle
from mtaal.results.mtaal_cost import write_cost_figure
from mtaal.results.mtaal_tables import METRICS

FIGURES = {
    "fig6_td_effect": "Multi-task with vs without the task discriminator (paper Fig. 6)",
    "fig7_strategies": "Query strategies in the multi-task setting (paper Fig. 7)",
    "fig8_ablation": "MTAAL vs without TD vs without DD (paper Fig. 8)",
    "fig9_annotation_cost": "F1 against labeled sentences, words and mentions (annotation cost)",
}


def _curve(axis, frame: pd.DataFrame, metric: str, label: str) -> None:
    grouped = frame.groupby("labeled_count")[metric]
    mean, std = grouped.mean(), grouped.std().fillna(0.0)
    axis.plot(mean.index, mean.values, marker="o", markersize=3, label=label)
    axis.fill_between(mean.index, (mean - std).values, (mean + std).values, alpha=0.15)


def _figure(
    rounds: pd.DataFrame,
    lines: Mapping[str, Sequence[tuple[str, str]]],
    metrics: Sequence[str],
    title: str,
    target: Path,
) -> dict[str, list[str]]:
    """One panel per (dataset, group) with a run; ``lines`` maps a group title to (variant, legend label)
    pairs. Returns the legend labels drawn per group, and under ``"not run"`` the groups left out."""
    curves = rounds[rounds["study"] == "curves"]
    embedding = "word2vec" if "word2vec" in set(curves["embedding"]) else sorted(set(curves["embedding"]))[0]
    curves = curves[curves["embedding"] == embedding]
    datasets = sorted(curves["dataset"].unique())
    ran = set(curves["variant"])
    # A panel per group with a run; a group without one is named in the title instead of drawn empty.
    lines = {group: [(v, label) for v, label in pairs if v in ran] for group, pairs in lines.items()}
    absent = [group or "these variants" for group, pairs in lines.items() if not pairs]
    lines = {group: pairs for group, pairs in lines.items() if pairs} or {"": []}
    metrics = [m for m in metrics if m in curves.columns and curves[m].notna().any()] or list(metrics)[:1]
    panels = [(group, metric) for group in lines for metric in metrics]
    fig, axes = plt.subplots(
        len(datasets),
        len(panels),
        figsize=(4.2 * len(panels), 3.4 * len(datasets)),
        squeeze=False,
        sharex="row",
    )
    for row, dataset in enumerate(datasets):
        for column, (group, metric) in enumerate(panels):
            axis = axes[row][column]
            for variant, label in lines[group]:
                frame = curves[(curves["dataset"] == dataset) & (curves["variant"] == variant)]
                if len(frame):
                    _curve(axis, frame, metric, label)
            axis.set_title(f"{dataset}: {group}" if group else dataset, fontsize=10)
            axis.set_xlabel("labeled sentences")
            axis.set_ylabel(METRICS[metric])
            axis.grid(alpha=0.3)
            if axis.lines:
                axis.legend(fontsize=8)
            else:
                axis.text(0.5, 0.5, "no run of these variants at this tier", ha="center", va="center",
                          transform=axis.transAxes)
    note = f"; not run at this tier: {', '.join(absent)}" if absent else ""
    wrapped_suptitle(fig, f"{title}\n(embedding {embedding}; mean ± std over seeds{note})")
    fig.tight_layout()
    save_figure(fig, png_and_svg(target), dpi=130)
    return {**{group: [label for _, label in pairs] for group, pairs in lines.items()}, "not run": absent}


def write_figures(rounds: pd.DataFrame, out_dir: Path) -> dict[str, dict[str, list[str]]]:
    """The paper's curve figures and the annotation-cost figure (PNG + SVG). Returns, per paper figure,
    what :func:`_figure` drew."""
    out_dir = Path(out_dir)
    td_lines = {
        strategy: [(f"mtl-{key}", "without TD"), (f"mtl_td-{key}", "with TD")]
        for key, strategy in [("random", "random"), ("entropy", "entropy"), ("lc", "least confidence")]
    }
    drawn = {"fig6_td_effect": _figure(rounds, td_lines, ["ner_f1"], FIGURES["fig6_td_effect"],
                                       out_dir / "fig6_td_effect")}
    # The paper's strategies with TD; a tier that ran a strategy without TD only shows that one, so marked.
    ran = set(rounds["variant"])
    strategy_lines = {"": [
        (f"mtl_td-{key}", label) if f"mtl_td-{key}" in ran or f"mtl-{key}" not in ran
        else (f"mtl-{key}", f"{label} (without TD)")
        for key, label in (("random", "random"), ("entropy", "entropy"), ("lc", "LC"), ("mnlp", "MNLP"))
    ] + [("mtaal", "MTAAL")]}
    drawn["fig7_strategies"] = _figure(rounds, strategy_lines, ["ner_f1", "nen_f1"],
                                       FIGURES["fig7_strategies"], out_dir / "fig7_strategies")
    ablation_lines = {"": [("mtaal", "MTAAL"), ("mtaal-no_td", "without TD"), ("mtaal-no_dd", "without DD")]}
    drawn["fig8_ablation"] = _figure(rounds, ablation_lines, ["ner_f1", "nen_f1"], FIGURES["fig8_ablation"],
                                     out_dir / "fig8_ablation")
    write_cost_figure(rounds, out_dir / "fig9_annotation_cost",
                      f"{FIGURES['fig9_annotation_cost']}\n(mean ± std over seeds)")
    return drawn
