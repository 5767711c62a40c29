"""Beyond both papers: F1 against the labeled share of the training data, active learning (MTAAL runs)
beside random data ablation (transformer runs), per dataset the two papers share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pyarrow as pa

from mtaal.io import save_figure, write_parquet
from mtaal.results.figure_text import pipeline_check

AL_VARIANTS = {
    "mtaal": "MTAAL (active, diversity)",
    "mtl-random": "multi-task, random queries",
    "stl_ner-random": "single-task NER, random queries",
}
ABLATION_EXPERIMENTS = {
    "stl": "transformer STL, random data ablation",
    "mtl": "transformer MTL, random data ablation",
}
COLUMNS = ["dataset", "source", "series", "labeled_fraction", "mean", "std", "n"]


def annotation_curves(store: pd.DataFrame, shared: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Tidy points: per shared MTAAL dataset, the AL curves (NER entity F1 vs labeled fraction, over
    seeds and embeddings) and the transformer's test entity F1 at each ablation fraction (best dev epoch)."""
    rows = []
    for mtaal_dataset, tasks in shared.items():
        al = store[
            (store["paper"] == "mtaal")
            & (store["experiment"] == "curves")
            & (store["dataset"] == mtaal_dataset)
            & (store["metric"] == "ner_f1")
            & store["setting"].isin(list(AL_VARIANTS))
        ]
        for (variant, _step), frame in al.groupby(["setting", "step"]):
            rows.append(
                {
                    "dataset": mtaal_dataset,
                    "source": "active learning (MTAAL paper)",
                    "series": AL_VARIANTS[variant],
                    "labeled_fraction": frame["labeled_fraction"].mean(),
                    "mean": frame["value"].mean(),
                    "std": frame["value"].std(),
                    "n": len(frame),
                }
            )
        tr = store[
            (store["paper"] == "multitask")
            & store["experiment"].isin(list(ABLATION_EXPERIMENTS))
            & store["dataset"].isin(list(tasks))
            & store["final"]
            & (store["split"] == "test")
            & (store["metric"] == "entity_f1")
        ]
        for (experiment, task, _fraction), frame in tr.groupby(
            ["experiment", "dataset", "ablation_fraction"]
        ):
            rows.append(
                {
                    "dataset": mtaal_dataset,
                    "source": f"data ablation (multitask paper, {task})",
                    "series": f"{ABLATION_EXPERIMENTS[experiment]} ({task})",
                    "labeled_fraction": frame["labeled_fraction"].mean(),
                    "mean": frame["value"].mean(),
                    "std": frame["value"].std(),
                    "n": len(frame),
                }
            )
    points = pd.DataFrame(rows, columns=COLUMNS)
    return points.sort_values(["dataset", "series", "labeled_fraction"]).reset_index(drop=True)



def annotation_figure(points: pd.DataFrame, targets: Sequence[Path], tier: str) -> None:
    """One panel per shared dataset; PNG and SVG from the same points."""
    datasets = sorted(points["dataset"].unique()) or ["(none)"]
    fig, axes = plt.subplots(1, len(datasets), figsize=(7.5 * len(datasets), 5.2), squeeze=False)
    for axis, dataset in zip(axes[0], datasets, strict=True):
        frame = points[points["dataset"] == dataset]
        if frame.empty:
            axis.text(0.5, 0.5, "no runs of a shared dataset at this tier", ha="center", va="center")
            axis.set_axis_off()
            continue
        for series, line in frame.groupby("series", sort=True):
            dashed = series.startswith("transformer")
            axis.errorbar(
                line["labeled_fraction"],
                line["mean"],
                yerr=line["std"].fillna(0.0),
                marker="s" if dashed else "o",
                linestyle="--" if dashed else "-",
                capsize=3,
                markersize=4,
                label=series,
            )
        axis.set_xlabel("labeled share of the available training data")
        axis.set_ylabel("test F1, entity level (strict)")
        axis.set_ylim(bottom=0)
        axis.set_xlim(left=0)
        axis.grid(alpha=0.3)
        axis.set_title(f"{dataset}: how much annotation is needed{pipeline_check([tier])}", fontsize=11)
        axis.legend(fontsize=8, loc="lower right")
    fig.text(
        0.5,
        0.005,
        f"Tier {tier}. Active learning: NER F1 over all entity types of the MTAAL pool, mean ± "
        "std over seeds and embeddings. Ablation: transformer test F1 on the HUNER task, mean ± std over "
        "seeds.",
        ha="center",
        fontsize=8,
        wrap=True,
    )
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    save_figure(fig, targets, dpi=150)


def write_annotation_curves(store: pd.DataFrame, shared: Mapping[str, Sequence[str]], points: Path,
                            figures: Sequence[Path], tier: str) -> pd.DataFrame:
    """:func:`annotation_curves` as parquet (``points``) and its figure (``figures``: .png, .svg)."""
    table = annotation_curves(store, shared)
    write_parquet(pa.Table.from_pandas(table, preserve_index=False), points)
    annotation_figure(table, figures, tier)
    return table
