"""MTAAL runs -> the paper's tables: F1 after N queries (Tables 2-3), query diversity (Table 4) and F1 at
equal annotation cost.

They read the runs' rounds in the shape :func:`~mtaal.results.store.rounds_from_store` gives them from the
results store (one row per run and round, a column per metric). Every table is tidy parquet (one value per
row) with a markdown rendering. The curve figures: :mod:`mtaal.results.mtaal_figures`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from mtaal.active.metrics import QUERY_METRICS
from mtaal.io import write_parquet, write_text
from mtaal.results.mtaal_cost import equal_cost_markdown, equal_cost_table
from mtaal.results.report_round import at_report_round
from mtaal.stats import over_seeds

log = logging.getLogger(__name__)

METRICS = {
    "ner_f1": "NER F1 (entity, strict)",
    "nen_f1": "NEN F1 (mention + concept)",
    "release_ner_f1_batch_mean": "NER F1, release style (batch mean)",
    "release_nen_token_accuracy_batch_mean": "NEN token accuracy, release style",
}


def final_scores(rounds: pd.DataFrame, report_after_round: Mapping[str, int]) -> pd.DataFrame:
    """Paper Tables 2 and 3: F1 after N query rounds, mean / std / n over seeds, one row per metric."""
    chosen = at_report_round(rounds[rounds["study"] == "curves"], report_after_round, round_column="round",
                             run_columns=["dataset", "embedding", "variant", "seed"])
    long = chosen.melt(
        id_vars=["dataset", "embedding", "variant", "seed", "round", "labeled_count"],
        value_vars=list(METRICS),
        var_name="metric",
    )
    return over_seeds(
        long,
        ["dataset", "embedding", "variant", "metric"],
        sort=True,
        round=("round", "max"),
        labeled_count=("labeled_count", "mean"),
    )


def query_diversity(rounds: pd.DataFrame) -> pd.DataFrame:
    """Paper Table 4: over all sentences a run selected (its last round's
    :data:`~mtaal.active.metrics.QUERY_METRICS`), the selections, distinct words, entity mentions and the
    share of the distinct sentences holding an entity, and (runs that record their annotation cost) the
    words per selected sentence; mean and std over repeats (seeds). A run without the query metrics
    (written before runs recorded them) is left out."""
    study = rounds[rounds["study"] == "diversity"]
    run = ["dataset", "embedding", "variant", "seed"]
    last = study[study["round"] == study.groupby(run)["round"].transform("max")]
    last = last.assign(**{name: math.nan for name in QUERY_METRICS if name not in last.columns})
    recorded = last.dropna(subset=list(QUERY_METRICS))
    if len(recorded) < len(last):
        log.warning("Table 4: %d of %d diversity runs have no query statistics (written before runs recorded "
                    "them) and are left out; rerun them", len(last) - len(recorded), len(last))
    distinct = recorded["queried_distinct_sentences"]
    first = study[study["round"] == 0].set_index(run)
    words = recorded.get("labeled_words", pd.Series(math.nan, index=recorded.index))
    first_words = first.reindex(pd.MultiIndex.from_frame(recorded[run])).get(
        "labeled_words", pd.Series(math.nan, index=recorded.index))
    runs = recorded[["dataset", "variant", "seed"]].assign(
        selected_sentences=recorded["queried_sentences"],
        words_per_selection=(words.to_numpy() - np.asarray(first_words, dtype=float))
        / recorded["queried_sentences"].where(recorded["queried_sentences"] > 0),
        distinct_words=recorded["queried_distinct_words"],
        entity_mentions=recorded["queried_entity_mentions"],
        sentences_with_entity_pct=(100.0 * (recorded["queried_sentences_with_entity"] / distinct))
        .where(distinct > 0, 0.0),
    )
    long = runs.melt(id_vars=["dataset", "variant", "seed"], var_name="statistic").dropna(subset=["value"])
    return over_seeds(long, ["dataset", "variant", "statistic"], n="n_repeats", sort=True)


def _mean_std(frame: pd.DataFrame, index: list[str], columns: list[str]) -> pd.DataFrame:
    """``mean ± std`` cells (the std left out with one seed), one column per combination of ``columns``
    named in words (e.g. "ncbi_disease, glove: NER F1 (entity, strict)")."""
    spread = frame["std"].map(lambda s: "" if pd.isna(s) else f" ± {s:.3f}")
    cell = frame.assign(cell=frame["mean"].map("{:.3f}".format) + spread)
    wide = cell.pivot_table(index=index, columns=columns, values="cell", aggfunc="first")
    if isinstance(wide.columns, pd.MultiIndex):
        wide.columns = [", ".join(map(str, key[:-1])) + ": " + _label(key[-1]) for key in wide.columns]
    else:
        wide.columns = [_label(key) for key in wide.columns]
    return wide


def _label(name: str) -> str:
    return METRICS.get(name, name.replace("_", " "))


def write_tables(
    rounds: pd.DataFrame, report_after_round: Mapping[str, int], out: Mapping[str, Path]
) -> None:
    """Tables 2-4 (parquet + markdown) and ``rounds`` itself (``out["rounds"]``) from the runs' rounds."""
    write_parquet(pa.Table.from_pandas(rounds, preserve_index=False), out["rounds"])
    final = final_scores(rounds, report_after_round)
    write_parquet(pa.Table.from_pandas(final, preserve_index=False), out["final"])
    shown = final[final["metric"].isin(["ner_f1", "nen_f1"])]
    write_text(
        "# MTAAL: F1 after N query rounds (paper Tables 2 and 3)\n\n"
        "Mean ± std over seeds; rounds per dataset: "
        + ", ".join(f"{d}: {int(r)}" for d, r in final.groupby("dataset")["round"].max().items())
        + ".\n\nBoth metrics here are strict. The papers print the release's metrics instead (in "
        "final_f1.parquet beside these): NER F1 averaged per test batch, and as \"NEN F1\" a token accuracy "
        "that counts O tokens, so a tagger that predicts O everywhere already scores about 0.92 on it.\n\n"
        + _mean_std(shown, ["variant"], ["dataset", "embedding", "metric"]).to_markdown()
        + "\n",
        out["final_md"],
    )
    cost = equal_cost_table(rounds, report_after_round)
    write_parquet(pa.Table.from_pandas(cost, preserve_index=False), out["cost"])
    write_text(equal_cost_markdown(cost, "MTAAL: F1 at equal annotation cost"), out["cost_md"])
    diversity = query_diversity(rounds)
    write_parquet(pa.Table.from_pandas(diversity, preserve_index=False), out["diversity"])
    write_text(
        "# MTAAL: diversity of the queried sentences (paper Table 4)\n\nMean ± std over repeats.\n\n"
        + (_mean_std(diversity, ["variant"], ["dataset", "statistic"]).to_markdown() if len(diversity)
           else "No diversity run with query statistics (runs written before runs recorded them).")
        + "\n",
        out["diversity_md"],
    )
