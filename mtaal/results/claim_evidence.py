"""What each basis of the claims offers (:mod:`mtaal.results.claims` judges them): our runs (the results
store, less the scores of models that learned nothing) or the paper's printed numbers, in one layout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mtaal.results.compare import mtaal_report_rounds
from mtaal.results.mtaal_cost import equal_cost_runs
from mtaal.results.mtaal_tables import query_diversity
from mtaal.results.multitask_report.runs import scores_from_store
from mtaal.results.multitask_report.tables import fig4_data
from mtaal.results.store import rounds_from_store, task_entity_types

RUNS, PAPER = "our runs", "the paper's own numbers"
TASKS = ("ner", "nen")
MTAAL_TABLE4_REPEATS = 5  # "We repeat the above process for 5 times" (Table 4's means and stds)
REPORTED_COLUMNS = ["paper", "table", "row", "column", "system", "dataset", "setting", "model", "split",
                    "ablation_fraction", "metric", "statistic", "value", "printed", "note"]
PAPER_MTAAL_METRICS = {"release_ner_f1_batch_mean": "ner", "release_nen_token_accuracy_batch_mean": "nen"}
RUN_MTAAL_METRICS = {"ner_f1": "ner", "nen_f1": "nen"}  # strict: an all-O model scores 0 on both
ALL_O_NEN = "all_o_release_nen_token_accuracy_batch_mean"
TRIVIALLY_HIGH = {"release_nen_token_accuracy_batch_mean"}  # metrics an all-O predictor scores high on
WORD_F1 = "word_io_f1"  # the paper's word level (B-/I- stripped), Tables 2-6
ENTITY_F1 = "entity_f1"  # Table 7


# -------------------------------------------------------------------------------- what a basis offers


@dataclass
class Evidence:
    """Everything the claims read, in one layout for both bases."""

    basis: str
    # MTAAL Tables 2-3: dataset, model, seed, setting, task (ner / nen), value
    mtaal: pd.DataFrame
    metric_names: Mapping[str, str]  # task -> the metric judged, for the evidence text
    # MTAAL Table 4: dataset, variant, statistic, mean, std, n_repeats
    diversity: pd.DataFrame
    # Multitask: experiment (stl / mtl / finetune), metric (word_f1 / entity_f1), study (main / ablation),
    # ablation_fraction, dataset (task), value (seed mean)
    tasks: pd.DataFrame
    # Fig. 4 per task: test_word_f1, train_sequences, annotation_density (None: not available)
    fig4: pd.DataFrame | None
    # dataset -> score an all-O predictor reaches on the metric judged for NEN (only where it is high)
    all_o: Mapping[str, float] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)  # paper -> what drop_untrained left out
    entity_types: Mapping[str, str] = field(default_factory=dict)  # multitask task -> its entity type
    # MTAAL runs that record their annotation cost: dataset, model, seed, setting, value = NER F1 (strict)
    # at the dataset's common labeled-word budget (mtaal.results.mtaal_cost.equal_cost_runs)
    equal_cost: pd.DataFrame = field(default_factory=pd.DataFrame)

    def absent(self, what: str) -> str:
        return f"no runs of {what} at this tier" if self.basis == RUNS else f"printed data missing: {what}"


@dataclass
class Context:
    """What the claims are judged on; :func:`store_context` makes it from the results store."""

    store: pd.DataFrame
    report_after_round: Mapping[str, int]
    diversity: pd.DataFrame  # MTAAL Table 4 (mtaal.results.mtaal_tables.query_diversity)
    fig4_points: pd.DataFrame  # multitask Fig. 4 points (mtaal.results.multitask_report.tables.fig4_data)
    alpha: float
    margin: float
    correlation_margin: float
    multitask_report: str = "results/multitask/<encoder>/report"  # where the report shows the same numbers
    # dataset -> entity type in the config's corpus registry (Registry.entity_types), for printed tasks
    # without runs
    registry_types: Mapping[str, str] = field(default_factory=dict)


def store_context(store: pd.DataFrame, corpus_stats: pd.DataFrame, sequences: pd.DataFrame, encoder: str,
                  settings: Mapping, registry_types: Mapping[str, str], multitask_report: str) -> Context:
    """The claims' context from the results store: MTAAL Table 4 and the Fig. 4 points computed by the very
    functions the MTAAL tables and the multitask report use, on the same inputs (``corpus_stats``: the
    corpus statistics table; ``sequences``: ``encoder``'s WordPiece sequence table). ``settings``:
    ``report_after_round``, ``alpha``, ``margin``, ``correlation_margin``."""
    points, _ = fig4_data(scores_from_store(store, encoder), corpus_stats, sequences)
    return Context(
        store=store,
        report_after_round=settings["report_after_round"],
        diversity=query_diversity(rounds_from_store(store)),
        fig4_points=points,
        alpha=settings["alpha"],
        margin=settings["margin"],
        correlation_margin=settings["correlation_margin"],
        multitask_report=multitask_report,
        registry_types=registry_types,
    )



def all_o_nen_accuracy(store: pd.DataFrame, report_after_round: Mapping[str, int]) -> dict[str, float]:
    """Per MTAAL dataset: the release "NEN F1" (token accuracy, O included) that a model tagging every
    token O reaches on our runs' test sets (the store's ``all_o_`` metric at the reported round)."""
    rows = mtaal_report_rounds(store, report_after_round)
    rows = rows[rows["metric"] == ALL_O_NEN]
    return {d: float(v) for d, v in rows.groupby("dataset")["value"].mean().dropna().items()}


def _stl_task_means(store: pd.DataFrame, experiment: str, metric: str) -> pd.DataFrame:
    """Per task and ablation fraction: the test score at the best dev epoch, mean over seeds."""
    rows = store[
        (store["paper"] == "multitask")
        & (store["experiment"] == experiment)
        & store["final"]
        & (store["split"] == "test")
        & (store["metric"] == metric)
    ]
    return rows.groupby(["dataset", "ablation_fraction"])["value"].mean().reset_index()


def runs_evidence(ctx: Context) -> Evidence:
    store, notes = drop_untrained(ctx.store)
    rows = mtaal_report_rounds(store, ctx.report_after_round)
    rows = rows[rows["metric"].isin(RUN_MTAAL_METRICS)]
    mtaal = rows.assign(task=rows["metric"].map(RUN_MTAAL_METRICS))[
        ["dataset", "model", "seed", "setting", "task", "value"]
    ]
    parts = []
    for experiment in ("stl", "mtl", "finetune"):
        for metric in (WORD_F1, ENTITY_F1):
            means = _stl_task_means(store, experiment, metric).assign(experiment=experiment, metric=metric)
            # One set of runs serves the main tables and the ablation tables.
            main = means[means["ablation_fraction"] == 0].assign(study="main")
            parts += [means.assign(study="ablation"), main]
    fig4 = ctx.fig4_points if ctx.fig4_points is not None and not ctx.fig4_points.empty else None
    tasks = pd.concat(parts, ignore_index=True)
    cost = equal_cost_runs(rounds_from_store(store), ctx.report_after_round) if len(store) else pd.DataFrame()
    if len(cost):
        cost = cost[(cost["statistic"] == "f1_at_equal_words") & (cost["metric"] == "ner_f1")]
        cost = cost.rename(columns={"embedding": "model", "variant": "setting"})[
            ["dataset", "model", "seed", "setting", "value"]]
    return Evidence(RUNS, mtaal, dict(zip(TASKS, RUN_MTAAL_METRICS, strict=True)), ctx.diversity, tasks, fig4,
                    {}, notes, task_entity_types(store, tasks["dataset"], ctx.registry_types), cost)


def _table_is(table: pd.Series, *numbers: int) -> pd.Series:
    found = table.astype(str).str.extract(r"(\d+)", expand=False)
    return found.isin([str(n) for n in numbers])


def paper_evidence(reported: pd.DataFrame, all_o: Mapping[str, float] | None = None,
                   store: pd.DataFrame | None = None, registry_types: Mapping[str, str] | None = None
                   ) -> Evidence:
    """The printed numbers (``config/reported/*.csv`` rows, columns :data:`REPORTED_COLUMNS`) in the layout
    the claims read. Group averages (``group:...``) and third-party systems are no units and are left out.
    A printed task's entity type is its runs' (``store``), the config's registry's (``registry_types``) for
    a task without runs."""
    frame = reported.reindex(columns=REPORTED_COLUMNS).replace({"": np.nan})  # empty cells: not given
    frame = frame[frame["value"].notna() & ~frame["dataset"].astype(str).str.startswith("group:")]
    frame = frame[frame["system"].isna() | (frame["system"] == "paper")]
    point = frame["statistic"].isna() | frame["statistic"].isin(["value", "mean"])
    mtaal = frame[(frame["paper"] == "mtaal") & _table_is(frame["table"], 2, 3) & point
                  & frame["metric"].isin(PAPER_MTAAL_METRICS)]
    mtaal = mtaal.assign(task=mtaal["metric"].map(PAPER_MTAAL_METRICS), seed=0)[
        ["dataset", "model", "seed", "setting", "task", "value"]
    ]
    table4 = frame[(frame["paper"] == "mtaal") & _table_is(frame["table"], 4)]
    diversity = (
        table4.pivot_table(index=["dataset", "setting", "metric"], columns="statistic", values="value")
        .reindex(columns=["mean", "std"])
        .reset_index()
        .rename(columns={"setting": "variant", "metric": "statistic"})
        .assign(n_repeats=MTAAL_TABLE4_REPEATS)
    )
    multitask = frame[(frame["paper"] == "multitask") & point
                      & (frame["split"].isna() | (frame["split"] == "test"))]
    multitask = multitask.assign(ablation_fraction=multitask["ablation_fraction"].astype(float).fillna(0.0))
    studies = [
        # (tables, experiment, metric, study): Table 3's STL column repeats Table 2; Tables 4-5 are runs
        # of their own ("the scores for 0.0 ablation differ slightly from Tables 2 and 3").
        ((2,), "stl", WORD_F1, "main"),
        ((3,), "mtl", WORD_F1, "main"),
        ((7,), "stl", ENTITY_F1, "main"),
        ((7,), "mtl", ENTITY_F1, "main"),
        ((4,), "stl", WORD_F1, "ablation"),
        ((5,), "mtl", WORD_F1, "ablation"),
        ((6,), "finetune", WORD_F1, "ablation"),  # beside it Table 6 repeats Table 2's STL and Table 3's MTL
    ]
    parts = []
    for tables, experiment, metric, study in studies:
        rows = multitask[_table_is(multitask["table"], *tables) & (multitask["setting"] == experiment)
                         & (multitask["metric"] == metric)]
        if study == "main":
            rows = rows[rows["ablation_fraction"] == 0]
        parts.append(rows.groupby(["dataset", "ablation_fraction"])["value"].mean().reset_index()
                     .assign(experiment=experiment, metric=metric, study=study))
    tasks = pd.concat(parts, ignore_index=True)
    types = task_entity_types(store, tasks["dataset"], registry_types or {})
    return Evidence(PAPER, mtaal, dict(zip(TASKS, PAPER_MTAAL_METRICS, strict=True)), diversity, tasks, None,
                    dict(all_o or {}), entity_types=types)



def drop_untrained(store: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The store without scores of models that learned nothing, and per paper a note of what went."""
    notes: dict[str, str] = {}
    if store.empty:
        return store, notes
    keep = pd.Series(True, index=store.index)
    mtaal = ((store["paper"] == "mtaal") & store["metric"].str.endswith("_f1")
             & ~store["metric"].str.startswith("all_o_"))
    zero = store[mtaal].groupby("metric")["value"].agg(lambda v: bool((v.fillna(0) == 0).all()))
    if zero.any():
        metrics = sorted(zero.index[zero])
        keep &= ~(mtaal & store["metric"].isin(metrics))
        notes["mtaal"] = f"left out {', '.join(metrics)}: 0 in every run at this tier (nothing tagged)"
    stl = store[(store["paper"] == "multitask") & (store["experiment"] == "stl") & store["final"]
                & (store["split"] == "test") & (store["metric"] == WORD_F1)
                & (store["ablation_fraction"] == 0.0)]
    dead = sorted(stl.groupby("dataset")["value"].agg(lambda v: bool((v == 0).all())).loc[lambda d: d].index)
    if dead:
        keep &= ~((store["paper"] == "multitask") & store["dataset"].isin(dead))
        notes["multitask"] = (f"left out {len(dead)} task(s) whose STL test word F1 is 0 in every seed: "
                              f"{', '.join(dead)}")
    return store[keep], notes
