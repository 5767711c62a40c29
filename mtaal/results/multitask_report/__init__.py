"""Multitask NER runs -> the tables and figures of Rodriguez, Nguyen & McInnes (J Biomed Inform 2022).

Entry point: :func:`write_report` ``(store_partition, corpus_stats, sequence_table, out_dir, encoder,
registry_types)``.
The runs are the results store's (:mod:`mtaal.results.store`, its ``paper=multitask`` partition), made one
score table by :mod:`.runs`; the tables' data made by :mod:`.tables` (from :mod:`.summary`), rendered by
:mod:`.markdown` and drawn by :mod:`.figures`.

Conventions, each on purpose:

* **Over seeds.** A task's score is the mean ± sample std (ddof 1; blank with one seed) over seeds.
* **Averages.** An entity-type or overall average is, per seed, the unweighted mean over the tasks (macro),
  then mean ± std over seeds; ``tasks`` says how many tasks it covers. Table 3 averages only the tasks with
  both STL and MTL runs, Table 6 only the fine-tuned tasks, Fig. 5 compares with full MTL on the same tasks.
* **MTL vs STL.** Wilcoxon signed-rank and paired t tests (scipy, two-sided) over tasks, on the per-task
  seed means of test word P, R and F1.
* **Fig. 4.** Training size is the number of training sequences the STL run had (``train_total`` in
  the store, after any small-tier cap; the sequence table's count where that is missing); the corpus's own
  count (sequence table) is kept beside it. Pearson r, r² and p are on the raw values.
* **Skipped.** A run that could not train and the tasks an MTL run left out (the store's ``skipped_<code>``
  rows) appear as rows with ``status`` ``skipped`` and the reason, never as scores.
* **Empty.** An experiment without runs gives its table with the right columns and no rows, and a figure
  that says "no runs".

Every table is tidy parquet plus a markdown rendering; every figure is PNG + SVG.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa

from mtaal.io import write_parquet, write_text
from mtaal.results.figure_text import pipeline_check
from mtaal.results.multitask_report.figures import fig4_figure, fig5_figure, fig6_figure
from mtaal.results.multitask_report.markdown import (
    ablation_markdown,
    fig4_markdown,
    fig5_markdown,
    table1_markdown,
    table2_markdown,
    table3_markdown,
    table6_markdown,
    table7_markdown,
)
from mtaal.results.multitask_report.runs import scores_from_store
from mtaal.results.multitask_report.tables import (
    ablation_table,
    fig4_data,
    fig5_data,
    table1_mentions,
    table2_stl,
    table3_mtl_vs_stl,
    table6_finetune,
    table7_entity_level,
)
from mtaal.results.store import read_store

__all__ = ["output_files", "write_report"]

log = logging.getLogger(__name__)

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


def write_report(
    store_partition: Path, corpus_stats: Path, sequence_table: Path, out_dir: Path, encoder: str,
    registry_types: Mapping[str, str],
) -> pd.DataFrame:
    """Read ``encoder``'s runs from the results store's ``paper=multitask`` partition and write all tables
    (``.parquet`` + ``.md``) and figures (``.png`` + ``.svg``) under ``out_dir`` (see :func:`output_files`).
    ``registry_types``: the config's corpus registry's entity types, for Table 1's tasks without runs.
    Returns the score table (``scores.parquet``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store = read_store([Path(store_partition)])
    scores = scores_from_store(store, encoder)
    check = pipeline_check(store.loc[store["model"] == encoder, "tier"]) if len(store) else ""
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
        table = table1_mentions(stats_table, scores, registry_types)
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
        write_text(fig4_markdown(statistics), out_dir / "fig4_stl_correlation.md")
        fig4_figure(points, statistics, out_dir / "fig4_stl_correlation", encoder, check)

    def fig5() -> None:
        table = fig5_data(scores)
        _write_table(table, out_dir, "fig5_entity_ablation", fig5_markdown(table))
        fig5_figure(table, out_dir / "fig5_entity_ablation", encoder, check)

    def table6() -> None:
        table = table6_finetune(scores)
        _write_table(table, out_dir, "table6_finetune", table6_markdown(table))
        fig6_figure(table, out_dir / "fig6_finetune", encoder, check)

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
    return scores
