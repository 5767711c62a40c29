"""Printed vs ours: every printed cell of both papers beside what this workflow's runs give.

The papers' numbers are data (``config/reported/*.csv``, parsed out of the paper texts by
``tools/transcribe_reported.py``): one row per printed cell, keyed by (paper, table, row, column,
statistic) and naming our dataset / setting / model / split / ablation / metric. The comparison walks the
printed cells, not the runs: each one is computed from the results store the way that table computes it
(MTAAL Tables 2-3 at the round they report; a multitask table at the best dev epoch; an average row as the
mean over its tasks within each seed), so two tables that print the same quantity (multitask Table 2 and
Table 4's 0.00 column) stay two rows. A printed cell this tier does not reproduce is kept, with the reason.

Like with like: each printed cell is joined to the metric it is (MTAAL's release batch-mean F1 and its O-
counting NEN token accuracy; the multitask paper's prefix-stripped word F1), with our stricter metric
beside it (``second_*``) and what a model that tags everything O scores under the printed metric
(``all_o``). The papers' numbers are single runs, so a printed value is judged against a 95% prediction
interval over our seeds, ``mean ± t(0.975, n-1) · s · sqrt(1 + 1/n)``, not the interval of our mean.

The pages a reader reads (and the comparison written): :mod:`mtaal.results.comparison_markdown`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mtaal.active.metrics import ALL_O_PREFIX
from mtaal.errors import MtaalError
from mtaal.results.mtaal_tables import query_diversity
from mtaal.results.report_round import at_report_round
from mtaal.results.store import SKIPPED_PREFIX, rounds_from_store, task_entity_types
from mtaal.stats import prediction_interval

REPORTED_COLUMNS = [
    "paper",
    "table",
    "row",
    "column",
    "system",
    "dataset",
    "setting",
    "model",
    "split",
    "ablation_fraction",
    "metric",
    "statistic",
    "value",
    "printed",
    "note",
]
CELL_KEY = ["paper", "table", "row", "column", "statistic"]
PAPER_SYSTEM = "paper"
GROUP_PREFIX = "group:"
ALL_GROUPS = "group:all"
# The printed metric -> our stricter variant, shown beside it.
SECOND_METRIC = {
    "release_ner_f1_batch_mean": "ner_f1",
    "release_nen_token_accuracy_batch_mean": "nen_f1",
    "word_io_f1": "word_f1",
    "word_io_precision": "word_precision",
    "train_sequences": "train_sequences_per_document",
    "word_io_recall": "word_recall",
}
SCORE_SUFFIXES = ("f1", "precision", "recall", "accuracy", "batch_mean")
COMPARISON_COLUMNS = [
    *REPORTED_COLUMNS[:12],
    "reported",
    "printed",
    "note",
    "status",
    "reason",
    "reproduced_model",
    "n",
    "mean",
    "std",
    "values",
    "pi95_low",
    "pi95_high",
    "judgement",
    "second_metric",
    "second_mean",
    "all_o",
    "units",
    "tier",
]
# A printed cell is compared (our runs beside it; whether they agree is the judgement) or not (reason given).
COMPARED, NOT_COMPARED, REFERENCE = "compared", "not compared", "reference"
DIVERSITY_STATISTICS = ("distinct_words", "entity_mentions", "sentences_with_entity_pct")
# Deterministic counts: compared as a ratio, never with an interval.
# The wordpiece table's counts at the paper's 512 (mtaal.multitask.sequence_table.PAPER_COUNT_COLUMNS).
PAPER_STREAM, PAPER_DOCUMENT = "stream_sequences_512", "document_sequences_512"
COUNT_METRICS = ("vocabulary_size", "abstracts", "entities", "ner_labels", "nen_labels", "sentences",
                 "mentions_total", "mentions_unique", "train_sequences")


# -------------------------------------------------------------------------------- judging


def judge(reported: float, low: float, high: float) -> str:
    if pd.isna(reported):
        return ""
    if pd.isna(low):
        return "no interval (n < 2)"
    if reported > high:
        return "printed above"
    if reported < low:
        return "printed below"
    return "within"


def mtaal_report_rounds(store: pd.DataFrame, report_after_round: Mapping[str, int]) -> pd.DataFrame:
    """MTAAL curve rows at the round a paper table reports (N queries; a shorter run: its last round)."""
    curves = store[(store["paper"] == "mtaal") & (store["experiment"] == "curves")]
    return at_report_round(curves, report_after_round, round_column="step", run_columns=["run_id"])


# -------------------------------------------------------------------------------- the printed numbers


def load_reported(paths: list[Path]) -> pd.DataFrame:
    """The papers' numbers; a malformed file stops with its name, line and the expected form."""
    frames = []
    for path in paths:
        frame = pd.read_csv(
            path,
            dtype={"value": "float64", "ablation_fraction": "float64", "printed": str},
            keep_default_na=False,
            na_values={"value": [""], "ablation_fraction": [""]},
        )
        missing = [c for c in REPORTED_COLUMNS if c not in frame.columns]
        if missing:
            raise MtaalError(
                f"{path}: missing columns {missing}; expected header {','.join(REPORTED_COLUMNS)}"
            )
        for line, row in zip(range(2, len(frame) + 2), frame.itertuples(), strict=True):
            for required in ("paper", "table", "row", "column", "metric", "statistic"):
                if not str(getattr(row, required)).strip():
                    raise MtaalError(
                        f"{path}:{line}: column {required!r} is empty; every printed cell names it"
                    )
            score = str(row.metric).endswith(SCORE_SUFFIXES) and row.statistic != "std"
            if pd.notna(row.value) and (row.value < 0 or (score and row.value > 1)):
                raise MtaalError(
                    f"{path}:{line}: value {row.value!r} for {row.metric}: expected "
                    + ("a fraction in [0, 1] (divide percentages by 100)" if score else "a number >= 0")
                )
        frame = frame[REPORTED_COLUMNS].copy()
        frame["source_file"] = str(path)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=REPORTED_COLUMNS)
    reported = pd.concat(frames, ignore_index=True)
    reported["ablation_fraction"] = reported["ablation_fraction"].fillna(0.0)
    duplicated = reported.duplicated(CELL_KEY, keep=False)
    if duplicated.any():
        first = reported[duplicated][CELL_KEY].head(3).to_dict("records")
        raise MtaalError(f"reported numbers name one printed cell twice: {first}")
    return reported.drop(columns="source_file")


# -------------------------------------------------------------------------------- what the tier produced


@dataclass
class Reproduction:
    """Everything the printed cells are computed from. Optional parts absent at a tier stay ``None``."""

    store: pd.DataFrame
    report_after_round: Mapping[str, int]
    corpus_stats: pd.DataFrame | None = None  # mtaal.corpora.stats.STATS_COLUMNS
    mtaal_sentences: pd.DataFrame | None = None  # dataset, split (labeled/unlabeled/test), sentences
    coverage: pd.DataFrame | None = None  # dataset, status, reason
    # wordpiece sequence table: encoder, dataset, split, sequences, max_len
    sequences: pd.DataFrame | None = None
    # dataset -> entity type in the config's corpus registry (Registry.entity_types): the groups of printed
    # tasks without runs (a task with runs is in its runs' group)
    registry_types: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        store = self.store
        self.mtaal_final = mtaal_report_rounds(store, self.report_after_round)
        self.multitask_final = store[(store["paper"] == "multitask") & store["final"].astype(bool)]
        # MTAAL Table 4 (dataset, variant, statistic, mean, std, n_repeats) as the MTAAL tables compute it
        self.diversity = query_diversity(rounds_from_store(store))
        skipped, known = {}, set()
        if self.coverage is not None:
            rows = self.coverage[self.coverage["status"] != "built"]
            skipped = dict(zip(rows["dataset"], rows["reason"].fillna("not built"), strict=True))
            known = set(self.coverage["dataset"])
        self.skipped = skipped
        self.known_datasets = known  # the datasets this tier builds (or tried to); empty: unknown


@dataclass
class Cell:
    values: pd.Series  # one value per seed (or a single deterministic count)
    second: pd.Series | None = None
    all_o: pd.Series | None = None
    units: str = ""
    reproduced_model: str = ""
    std_given: float | None = None  # Table 4: std over repeats when only summaries are stored
    n_given: int | None = None


def _missing(reason: str) -> Cell:
    cell = Cell(values=pd.Series(dtype=float))
    cell.units = reason
    return cell


def _per_seed(rows: pd.DataFrame, metric: str) -> pd.Series:
    picked = rows[rows["metric"] == metric]
    return picked.groupby("seed")["value"].mean()


def _mtaal_score(row, rep: Reproduction) -> Cell:
    rows = rep.mtaal_final
    rows = rows[(rows["dataset"] == row.dataset) & (rows["setting"] == row.setting)]
    if row.model:
        rows = rows[rows["model"] == row.model]
    values = _per_seed(rows, row.metric).dropna()
    second = SECOND_METRIC.get(row.metric)
    return Cell(
        values=values,
        second=_per_seed(rows, second).dropna() if second else None,
        all_o=_per_seed(rows, ALL_O_PREFIX + row.metric).dropna(),
        reproduced_model=", ".join(sorted(rows["model"].dropna().unique())),
    )


def _mtaal_diversity(row, rep: Reproduction) -> Cell:
    table = rep.diversity
    pick = table[(table["dataset"] == row.dataset) & (table["variant"] == row.setting)
                 & (table["statistic"] == row.metric)]
    if pick.empty:
        return _missing("")
    mean, std, n = float(pick["mean"].iat[0]), float(pick["std"].iat[0]), int(pick["n_repeats"].iat[0])
    value = std if row.statistic == "std" else mean
    return Cell(values=pd.Series([value]), std_given=math.nan if row.statistic == "std" else std, n_given=n)


def _multitask_score(row, rep: Reproduction, members: Mapping[tuple, list[str]]) -> Cell:
    rows = rep.multitask_final
    rows = rows[(rows["experiment"] == row.setting) & (rows["split"] == row.split)
                & np.isclose(rows["ablation_fraction"].astype(float), float(row.ablation_fraction))]
    metric = "word_io_f1" if row.metric == "best_epoch" else row.metric
    if row.dataset.startswith(GROUP_PREFIX):
        tasks = members.get((row.table, row.dataset), [])
        rows = rows[rows["dataset"].isin(tasks)]
    else:
        tasks = [row.dataset]
        rows = rows[rows["dataset"] == row.dataset]
    rows = rows[rows["metric"] == metric]
    if row.metric == "best_epoch":
        rows = rows.assign(value=rows["step"].astype(float))
    # An average row: the mean over its tasks within each seed (the paper's macro average), then over seeds.
    by_seed_task = rows.groupby(["seed", "dataset"])["value"].mean()
    values = by_seed_task.groupby("seed").mean()
    ran = sorted(rows["dataset"].unique())
    if not ran:
        return _missing("")
    units = ""
    if row.dataset.startswith(GROUP_PREFIX) and len(tasks):
        units = f"{len(ran)} of {len(tasks)} tasks"

    def companion(name: str | None) -> pd.Series | None:
        if name is None:
            return None
        picked = rep.multitask_final
        picked = picked[(picked["experiment"] == row.setting) & (picked["split"] == row.split)
                        & np.isclose(picked["ablation_fraction"].astype(float), float(row.ablation_fraction))
                        & picked["dataset"].isin(ran) & (picked["metric"] == name)]
        return picked.groupby(["seed", "dataset"])["value"].mean().groupby("seed").mean()

    return Cell(
        values=values.dropna(),
        second=companion(SECOND_METRIC.get(row.metric)),
        all_o=companion(None if row.metric == "best_epoch" else ALL_O_PREFIX + row.metric),
        units=units,
        reproduced_model=", ".join(sorted(rows["model"].dropna().unique())),
    )


MTAAL_TABLE1 = {
    "abstracts": "documents",
    "entities": "mentions",
    "vocabulary_size": "vocabulary_size",
    "ner_labels": "ner_labels",
    "nen_labels": "nen_labels",
}
MULTITASK_TABLE1 = {"mentions_total": "mentions", "mentions_unique": "unique_mentions"}


def _corpus_count(row, rep: Reproduction) -> Cell:
    if row.paper == "mtaal" and row.metric == "sentences":
        table = rep.mtaal_sentences
        if table is None:
            return _missing("")
        pick = table[(table["dataset"] == row.dataset) & (table["split"] == row.split)]
        return Cell(values=pd.Series(pick["sentences"].astype(float).tolist()))
    column = (MTAAL_TABLE1 if row.paper == "mtaal" else MULTITASK_TABLE1).get(row.metric)
    if column is None or rep.corpus_stats is None:
        return _missing("not computed by this workflow" if column is None else "")
    split = "all" if row.paper == "mtaal" else row.split
    stats_rows = rep.corpus_stats
    pick = stats_rows[(stats_rows["dataset"] == row.dataset) & (stats_rows["split"] == split)]
    return Cell(values=pd.Series(pick[column].astype(float).tolist()))


def _sequence_count(row, rep: Reproduction, members) -> Cell:
    """Training sequences per task (a group row: the mean over the group's tasks, Table 1's members): at
    the paper's 512 packed as one stream per training set (the paper's count), with the per-document
    count beside it (second), whatever the tier's own max_len; a table without those counts: its own."""
    table = rep.sequences
    if table is None or table.empty:
        return _missing("")
    tasks = members.get((row.table, row.dataset)) or members.get(("Table 1", row.dataset)) or [row.dataset]
    pick = table[table["dataset"].isin(tasks) & (table["split"] == row.split)]
    if pick.empty:
        return _missing("")
    encoder = f"encoder {pick['encoder'].iat[0]}"
    second = None
    if PAPER_STREAM in pick.columns and pick[PAPER_STREAM].notna().all():
        values = pd.Series([float(pick[PAPER_STREAM].astype(float).mean())])
        second = pd.Series([float(pick[PAPER_DOCUMENT].astype(float).mean())])
        units = f"max_len 512 subwords, one stream per training set (second: per document), {encoder}"
    else:
        values = pd.Series([float(pick["sequences"].mean())])
        units = f"max_len {int(pick['max_len'].max())} subwords, {encoder}"
    if row.dataset.startswith(GROUP_PREFIX):
        units = f"{pick['dataset'].nunique()} of {len(tasks)} tasks; {units}"
    return Cell(values=values, second=second, units=units, reproduced_model=str(pick["encoder"].iat[0]))


def _member_tasks(reported: pd.DataFrame, rep: Reproduction) -> dict[tuple, list[str]]:
    """(table, group row) -> the tasks printed in that table in that entity group (all of them for
    ``group:all``): the members an average row of that table is taken over. A task's group is its entity
    type: its runs' (the store's), the config's registry's for a task without runs."""
    tasks = reported[~reported["dataset"].str.startswith(GROUP_PREFIX) & (reported["paper"] == "multitask")]
    tasks = tasks[tasks["dataset"] != ""]
    types = task_entity_types(rep.store, tasks["dataset"], rep.registry_types)
    out: dict[tuple, list[str]] = {}
    for table, frame in tasks.groupby("table"):
        names = sorted(frame["dataset"].unique())
        out[(table, ALL_GROUPS)] = names
        for name in names:
            out.setdefault((table, GROUP_PREFIX + types[name]), []).append(name)
    return out


def _cell_for(row, rep: Reproduction, members) -> Cell:
    if row.metric in {*MTAAL_TABLE1, *MULTITASK_TABLE1, "sentences", "document_type"}:
        return _corpus_count(row, rep)
    if row.metric == "train_sequences":
        return _sequence_count(row, rep, members)
    if row.paper == "mtaal":
        if row.metric in DIVERSITY_STATISTICS:
            return _mtaal_diversity(row, rep)
        return _mtaal_score(row, rep)
    return _multitask_score(row, rep, members)


def _why_missing(row, rep: Reproduction, members, cell: Cell) -> str:
    if cell.units:
        return cell.units
    datasets = members.get((row.table, row.dataset)) or [row.dataset]
    skipped = [d for d in datasets if d in rep.skipped]
    if skipped and len(skipped) == len(datasets):
        # the coverage table has the whole message (where to get the corpus); its first clause here
        return f"corpus missing: {rep.skipped[skipped[0]].split(' (')[0]}"
    if rep.known_datasets and not set(datasets) & rep.known_datasets:
        return f"not run at this tier ({row.dataset} not in this tier's datasets)"
    if row.paper == "mtaal":
        if row.metric == "sentences":
            return f"not run at this tier (no MTAAL split of {row.dataset})"
        if row.metric in DIVERSITY_STATISTICS:
            return f"not run at this tier (diversity study of {row.dataset} / {row.setting})"
        runs = rep.store[(rep.store["paper"] == "mtaal")]
        if row.setting not in set(runs["setting"]):
            return f"not run at this tier (variant {row.setting})"
        return f"not run at this tier ({row.dataset} / {row.model or 'any embedding'})"
    if row.metric in {*MULTITASK_TABLE1, "sentences"}:
        return "corpus statistics not built at this tier"
    if row.metric == "train_sequences":
        return "no WordPiece sequence table at this tier"
    runs = rep.store[(rep.store["paper"] == "multitask") & (rep.store["experiment"] == row.setting)
                     & ~rep.store["metric"].str.startswith(SKIPPED_PREFIX)]  # runs with scores
    if runs.empty:
        return f"not run at this tier (experiment {row.setting})"
    fractions = runs["ablation_fraction"].astype(float).unique()
    if not np.isclose(fractions, float(row.ablation_fraction)).any():
        return f"not run at this tier (ablation {row.ablation_fraction:g})"
    return f"not run at this tier ({row.dataset})"


def mtaal_sentence_counts(split_paths: Mapping[str, Path]) -> pd.DataFrame:
    """Sentences per MTAAL pool (labeled / unlabeled / test) of each dataset's ``mtaal_split.parquet``."""
    rows = []
    for dataset, path in split_paths.items():
        counts = pd.read_parquet(path, columns=["split"])["split"].value_counts()
        rows += [{"dataset": dataset, "split": split, "sentences": int(n)} for split, n in counts.items()]
    return pd.DataFrame(rows, columns=["dataset", "split", "sentences"])


def _ratio(ours: float, printed: float) -> str:
    if pd.isna(printed):
        return ""
    if ours == printed:
        return "equal"
    return f"ours / printed = {ours / printed:.2f}" if printed else "printed 0"


def _mean_of(values: pd.Series | None) -> float:
    return float(values.mean()) if values is not None and len(values) else math.nan


def compare(reported: pd.DataFrame, rep: Reproduction, tier: str, members_from: pd.DataFrame | None = None
            ) -> pd.DataFrame:
    """One row per printed cell (:data:`COMPARISON_COLUMNS`), in the order of the reported files.
    ``members_from``: the printed cells whose tasks an average row is taken over, when ``reported`` is a
    selection of them (default: ``reported``), so that an average over fewer tasks than the paper's says
    so."""
    members = _member_tasks(reported if members_from is None else members_from, rep)
    out = []
    for row in reported.itertuples(index=False):
        base = {c: getattr(row, c) for c in REPORTED_COLUMNS[:12]}
        record = {**base, "reported": row.value, "printed": row.printed, "note": row.note, "tier": tier}
        if row.system != PAPER_SYSTEM:
            out.append({**record, "status": REFERENCE,
                        "reason": f"third-party system: {row.system}, shown for reference"})
            continue
        if row.metric == "document_type":
            out.append({**record, "status": NOT_COMPARED, "reason": "not computed by this workflow"})
            continue
        cell = _cell_for(row, rep, members)
        values = cell.values.dropna()
        if values.empty:
            out.append({**record, "status": NOT_COMPARED, "reason": _why_missing(row, rep, members, cell)})
            continue
        n = cell.n_given or len(values)
        mean = float(values.mean())
        std = cell.std_given if cell.std_given is not None else (float(values.std()) if n > 1 else math.nan)
        low, high = prediction_interval(mean, std, n)
        partial = [d for d in members.get((row.table, row.dataset), []) if d in rep.skipped]
        reason = f"corpus missing for {', '.join(partial)}" if partial else ""
        out.append({
            **record,
            "status": COMPARED,
            "reason": reason,
            "reproduced_model": cell.reproduced_model,
            "n": n,
            "mean": mean,
            "std": std,
            "values": [float(v) for v in values],
            "pi95_low": low,
            "pi95_high": high,
            "judgement": (_ratio(mean, row.value) if row.metric in COUNT_METRICS
                          else judge(row.value, low, high)),
            "second_metric": SECOND_METRIC.get(row.metric, ""),
            "second_mean": _mean_of(cell.second),
            "all_o": _mean_of(cell.all_o),
            "units": cell.units,
        })
    frame = pd.DataFrame(out, columns=COMPARISON_COLUMNS)
    for column in ("reported", "mean", "std", "pi95_low", "pi95_high", "second_mean", "all_o", "n"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in ("reason", "reproduced_model", "judgement", "second_metric", "units"):
        frame[column] = frame[column].astype(object).fillna("")
    frame["values"] = [v if isinstance(v, list) else [] for v in frame["values"]]
    return frame
