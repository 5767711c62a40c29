"""MTAAL runs by what their labeled sets cost to annotate: learning curves against labeled sentences, words
and mentions side by side, and each run's F1 at an equal word budget.

A curve against sentences (the papers' axis) favours strategies that pick long sentences: they label more
words per query. Both tables read the runs' rounds as
:func:`~mtaal.results.store.rounds_from_store` gives them; runs without
:data:`~mtaal.active.metrics.COST_METRICS` (written before runs recorded them) are left out.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mtaal.active.metrics import COST_METRICS
from mtaal.io import png_and_svg, save_figure
from mtaal.results.figure_text import wrapped_suptitle
from mtaal.results.report_round import at_report_round

log = logging.getLogger(__name__)

# The x axes of the cost curves: round column -> axis label.
COST_AXES = {"labeled_count": "labeled sentences", "labeled_words": "labeled words",
             "labeled_mentions": "labeled entity mentions"}
RUN = ["dataset", "embedding", "variant", "seed"]
RELEASE_NER = "release_ner_f1_batch_mean"  # the metric the paper printed (FIDELITY.md)
# A run has taken off at the first round whose NER F1 reaches this share of its F1 at the report round.
TAKEOFF_SHARE = 0.5
EQUAL_COST_STATISTICS = {
    "f1_at_report_round": "F1 after the report round's queries (the papers' axis)",
    "f1_at_equal_words": "F1 interpolated at the dataset's common word budget",
    "release_ner_f1_at_report_round": "release-style NER F1 after the report round's queries",
    "release_ner_f1_at_equal_words": "release-style NER F1 at the common word budget",
    "words_per_selection": "words per selected sentence",
    "mentions_per_selection": "entity mentions per selected sentence",
    "takeoff_round": f"first round with F1 >= {TAKEOFF_SHARE:g} x its report-round F1",
    "word_budget": "the dataset's common word budget",
}


def primary_metric(variant: str) -> str:
    """The F1 a variant is judged by: NEN for single-task NEN runs, NER otherwise."""
    return "nen_f1" if variant.startswith("stl_nen") else "ner_f1"


def costed_runs(rounds: pd.DataFrame) -> pd.DataFrame:
    """The curve runs' rounds that carry their annotation cost."""
    curves = rounds[rounds["study"] == "curves"]
    if not set(COST_METRICS) <= set(curves.columns):
        return curves.iloc[0:0]
    complete = curves.groupby(RUN)[list(COST_METRICS)].transform(lambda c: c.notna().all()).all(axis=1)
    if (~complete).any():
        log.info("annotation cost: %d of %d curve runs have no cost columns (written before runs recorded "
                 "them) and are left out", curves.loc[~complete, RUN].drop_duplicates().shape[0],
                 curves[RUN].drop_duplicates().shape[0])
    return curves[complete]


def _run_statistics(run: pd.DataFrame, report_round: int, budget: float) -> dict[str, float]:
    run = run.sort_values("round")
    metric = primary_metric(run["variant"].iat[0])
    at = run[run["round"] == min(report_round, run["round"].max())].iloc[0]
    first = run.iloc[0]
    picks = at["labeled_count"] - first["labeled_count"]
    upto = run[run["round"] <= at["round"]]
    out = {
        "f1_at_report_round": float(at[metric]),
        "f1_at_equal_words": float(np.interp(budget, upto["labeled_words"], upto[metric])),
        "words_per_selection": (at["labeled_words"] - first["labeled_words"]) / picks if picks else math.nan,
        "mentions_per_selection": ((at["labeled_mentions"] - first["labeled_mentions"]) / picks
                                   if picks else math.nan),
        "takeoff_round": takeoff_round(run, report_round, metric),
        "word_budget": budget,
    }
    if RELEASE_NER in run and run[RELEASE_NER].notna().all():
        release = upto[RELEASE_NER]
        out["release_ner_f1_at_report_round"] = float(at[RELEASE_NER])
        out["release_ner_f1_at_equal_words"] = float(np.interp(budget, upto["labeled_words"], release))
    return out


def _scored(run: pd.DataFrame, metric: str) -> bool:
    """Whether the run has the F1 it is judged by (a reader may have left out scores of untrained models)."""
    return metric in run.columns and run[metric].notna().any()


def equal_cost_runs(rounds: pd.DataFrame, report_after_round: Mapping[str, int]) -> pd.DataFrame:
    """One row per costed curve run and statistic (:data:`EQUAL_COST_STATISTICS`): its F1 at the report
    round and at the dataset's common word budget (the fewest words any of the dataset's costed runs had
    labeled by its report round, so every run's curve reaches it), words and mentions per selection, and
    the round its F1 took off. Tidy: ``dataset, embedding, variant, seed, metric, statistic, value``."""
    runs = costed_runs(rounds)
    rows = []
    for dataset, frame in runs.groupby("dataset"):
        report_round = int(report_after_round.get(dataset, frame["round"].max()))
        at = frame[frame["round"] == np.minimum(report_round, frame.groupby(RUN)["round"].transform("max"))]
        budget = float(at["labeled_words"].min())
        for key, run in frame.groupby(RUN):
            metric = primary_metric(key[2])
            if not _scored(run, metric):
                continue
            for statistic, value in _run_statistics(run, report_round, budget).items():
                rows.append((*key, metric, statistic, value))
    return pd.DataFrame(rows, columns=[*RUN, "metric", "statistic", "value"])


def equal_cost_table(rounds: pd.DataFrame, report_after_round: Mapping[str, int]) -> pd.DataFrame:
    """:func:`equal_cost_runs` as mean, std and n over seeds per dataset, embedding, variant, statistic."""
    per_run = equal_cost_runs(rounds, report_after_round)
    grouped = per_run.groupby(["dataset", "embedding", "variant", "metric", "statistic"])
    summary = grouped.agg(mean=("value", "mean"), std=("value", "std"), n_seeds=("seed", "nunique"))
    return summary.reset_index()


def equal_cost_markdown(table: pd.DataFrame, title: str) -> str:
    """The equal-cost table as markdown: a row per dataset, embedding and variant, a column per statistic."""
    if table.empty:
        return (f"# {title}\n\nNo curve run carries its annotation cost (runs written before runs "
                "recorded it).\n")
    cell = table.assign(cell=table["mean"].map("{:.3f}".format)
                        + table["std"].map(lambda s: "" if pd.isna(s) else f" ± {s:.3f}"))
    wide = cell.pivot_table(index=["dataset", "embedding", "variant", "metric", "n_seeds"],
                            columns="statistic", values="cell", aggfunc="first")
    order = [name for name in EQUAL_COST_STATISTICS if name in wide.columns]
    wide = wide[order].rename(columns=lambda name: name.replace("_", " "))
    legend = "\n".join(f"- {name.replace('_', ' ')}: {text}" for name, text in EQUAL_COST_STATISTICS.items())
    return (f"# {title}\n\nMean ± std over seeds. `metric`: the F1 each variant is judged by (strict, "
            f"seqeval entity level for NER).\n\n{legend}\n\n" + wide.reset_index().to_markdown(index=False)
            + "\n")


def write_cost_figure(rounds: pd.DataFrame, target: Path, title: str) -> None:
    """One row per group of variants (multi-task, single-task NER, single-task NEN) that ran, one column
    per cost axis (:data:`COST_AXES`), a line per variant and embedding (mean ± std over seeds)."""
    runs = costed_runs(rounds)
    groups = {
        "multi-task": runs[~runs["variant"].str.startswith("stl_")],
        "single-task NER": runs[runs["variant"].str.startswith("stl_ner")],
        "single-task NEN": runs[runs["variant"].str.startswith("stl_nen")],
    }
    groups = {name: frame for name, frame in groups.items() if len(frame)}
    fig, axes = plt.subplots(max(len(groups), 1), len(COST_AXES), figsize=(4.6 * len(COST_AXES),
                             3.6 * max(len(groups), 1)), squeeze=False)
    for row, (group, frame) in enumerate(groups.items()):
        for column, (axis_column, label) in enumerate(COST_AXES.items()):
            axis = axes[row][column]
            for (dataset, embedding, variant), lines in frame.groupby(["dataset", "embedding", "variant"]):
                metric = primary_metric(variant)
                grouped = lines.groupby("round")
                x, y = grouped[axis_column].mean(), grouped[metric].mean()
                spread = grouped[metric].std().fillna(0.0)
                where = f" ({dataset})" if frame["dataset"].nunique() > 1 else ""
                name = f"{variant} +{embedding[0]}{where}"
                axis.plot(x.values, y.values, marker="o", markersize=2, linewidth=1, label=name)
                axis.fill_between(x.values, (y - spread).values, (y + spread).values, alpha=0.1)
            axis.set_xlabel(label)
            axis.set_ylabel("NEN F1" if group.endswith("NEN") else "NER F1 (strict)")
            axis.set_title(group, fontsize=10)
            axis.grid(alpha=0.3)
        axes[row][-1].legend(fontsize=6, loc="lower right")
    if not groups:
        axes[0][0].text(0.5, 0.5, "no run with its annotation cost", ha="center", va="center")
    wrapped_suptitle(fig, title)
    fig.tight_layout()
    save_figure(fig, png_and_svg(target), dpi=130)  # closes the figure


def paired_differences(rounds: pd.DataFrame, report_after_round: Mapping[str, int],
                       pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Variant ``a`` minus variant ``b`` per (dataset, embedding, seed) both ran, per query (F1 at the report
    round; every run) and per labeled word (F1 at the common word budget; runs that record their cost).
    Tidy: ``a, b, dataset, embedding, seed, statistic, a_value, b_value, difference``."""
    curves = rounds[rounds["study"] == "curves"]
    per_run = equal_cost_runs(rounds, report_after_round).set_index([*RUN, "statistic"])["value"]
    at = {"f1_per_query": at_report(curves, report_after_round).set_index(RUN)["value"],
          "release_ner_f1_per_query": at_report(curves, report_after_round, RELEASE_NER)
          .set_index(RUN)["value"]}
    per_word = {"f1_per_word": "f1_at_equal_words",
                "release_ner_f1_per_word": "release_ner_f1_at_equal_words"}
    rows = []
    for a, b in pairs:
        for key in at["f1_per_query"].index[at["f1_per_query"].index.get_level_values("variant") == a]:
            other = (key[0], key[1], b, key[3])
            if other not in at["f1_per_query"].index:
                continue
            values = {name: (series.get(key, math.nan), series.get(other, math.nan))
                      for name, series in at.items()}
            values |= {name: (per_run.get((*key, stat), math.nan), per_run.get((*other, stat), math.nan))
                       for name, stat in per_word.items()}
            for statistic, (x, y) in values.items():
                rows.append((a, b, key[0], key[1], key[3], statistic, x, y, x - y))
    return pd.DataFrame(rows, columns=["a", "b", "dataset", "embedding", "seed", "statistic", "a_value",
                                       "b_value", "difference"])


def at_report(curves: pd.DataFrame, report_after_round: Mapping[str, int], metric: str | None = None
              ) -> pd.DataFrame:
    """Each curve run's ``metric`` (default: its primary F1, :func:`primary_metric`) at its dataset's report
    round (its last round when shorter): ``dataset, embedding, variant, seed, round, value``."""
    chosen = at_report_round(curves, report_after_round, round_column="round", run_columns=RUN)
    values = [row.get(metric or primary_metric(row["variant"]), math.nan) for _, row in chosen.iterrows()]
    return chosen[[*RUN, "round"]].assign(value=values).reset_index(drop=True)


def paired_markdown(paired: pd.DataFrame, title: str) -> str:
    """Per pair and statistic: the mean difference over units, n, how many units favour ``a``, and each
    unit's difference (embedding initial and seed)."""
    lines = [f"# {title}", "", "a minus b, paired by embedding and seed (the unit); per query: F1 after the "
             "report round's queries; per word: F1 at the dataset's common labeled-word budget; f1: the "
             "strict metric (entity level), release ner f1: the paper's printed one (per test batch).", "",
             "| a | b | statistic | mean difference | n | a higher | per unit |",
             "|---|---|---|---|---|---|---|"]
    for (a, b, statistic), frame in paired.dropna(subset=["difference"]).groupby(["a", "b", "statistic"],
                                                                                  sort=False):
        units = ", ".join(f"{e[0]}{s}: {d:+.3f}" for e, s, d in frame[["embedding", "seed", "difference"]]
                          .itertuples(index=False))
        lines.append(f"| {a} | {b} | {statistic.replace('_', ' ')} | {frame['difference'].mean():+.3f} | "
                     f"{len(frame)} | {(frame['difference'] > 0).sum()} | {units} |")
    return "\n".join(lines) + "\n"


def takeoff_round(run: pd.DataFrame, report_round: int, metric: str) -> float:
    """The first round whose ``metric`` reaches :data:`TAKEOFF_SHARE` of its value at the report round
    (NaN when that value is 0): with one epoch per query, runs sit near 0 for several rounds."""
    run = run.sort_values("round")
    upto = run[run["round"] <= min(report_round, run["round"].max())]
    final = float(upto[metric].iat[-1])
    reached = upto.loc[upto[metric] >= TAKEOFF_SHARE * final, "round"] if final > 0 else pd.Series([])
    return float(reached.iat[0]) if len(reached) else math.nan


def run_table(rounds: pd.DataFrame, report_after_round: Mapping[str, int]) -> pd.DataFrame:
    """One row per curve run: its primary F1 and the release NER F1 at the report round, its take-off
    round, and (runs that record their cost) words and mentions per selection and F1 at the common word
    budget."""
    curves = rounds[rounds["study"] == "curves"]
    cost = equal_cost_runs(rounds, report_after_round).pivot_table(index=RUN, columns="statistic",
                                                                   values="value")
    rows = []
    for key, run in curves.groupby(RUN):
        metric = primary_metric(key[2])
        if not _scored(run, metric):
            continue
        report_round = int(report_after_round.get(key[0], run["round"].max()))
        at = run[run["round"] == min(report_round, run["round"].max())].iloc[0]
        row = dict(zip(RUN, key, strict=True), metric=metric, round=int(at["round"]), f1=float(at[metric]),
                   release_ner_f1=float(at.get(RELEASE_NER, math.nan)),
                   takeoff_round=takeoff_round(run, report_round, metric))
        for name in ("words_per_selection", "mentions_per_selection", "f1_at_equal_words"):
            row[name] = float(cost.loc[key, name]) if key in cost.index else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def run_table_markdown(table: pd.DataFrame, title: str) -> str:
    shown = table.assign(seed=table["seed"].astype(int)).rename(columns=lambda c: c.replace("_", " "))
    return (f"# {title}\n\nPer run: F1 after the report round's queries (`metric`, strict; release NER F1 "
            f"as printed), the first round whose F1 reaches {TAKEOFF_SHARE:g} x that value (`takeoff "
            "round`), and, for runs that record their annotation cost, words and mentions per selected "
            "sentence and F1 at the dataset's common labeled-word budget (annotation_cost.md).\n\n"
            + shown.to_markdown(index=False, floatfmt=".3f") + "\n")
