"""The papers' qualitative claims, each judged twice: on the runs of the tier that ran ("our runs") and on
the paper's own printed numbers (``config/reported/``, "the paper's own numbers").

The unit of every test is an independent replicate: (dataset, embedding, seed) for MTAAL (a printed cell
has no seed: (dataset, embedding)), a HUNER task for the multitask paper (seeds averaged within it
first). Strategies, metrics or tasks that share a run are averaged within the unit (claim 2: the worst
cell of the unit), never counted as extra pairs. Directional claims are one-sided tests in the claimed
direction, "no difference" claims (6, 7, the second half of 8) equivalence tests (TOST) against
``results.equivalence_margin`` / ``results.correlation_margin``; the tests are in
:mod:`mtaal.results.claim_tests`.

Verdicts, per basis: a claim with no data says so ("inconclusive: no runs ..." / "inconclusive: printed
data missing ..."); one whose design cannot reach p < alpha is "inconclusive: n too small (attainable p
>= ...)"; the others are Holm-corrected over the testable claims of that basis (untestable ones do not
count, as in Tarone's refinement) and hold when the adjusted p of the claim is < alpha, do not hold when
the adjusted p of the opposite test is < alpha (its own Holm family), and are inconclusive otherwise.

Scores of models that learned nothing are no evidence (a small tier can leave every F1 at 0, and zeros
on both sides would "show" equivalence): before judging our runs, :func:`drop_untrained` leaves out MTAAL
metrics that are 0 in every run and HUNER tasks whose single-task test F1 is 0 in every seed, and each
affected verdict says what was left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from mtaal.corpora.registry import entity_type_of
from mtaal.io import write_parquet, write_text
from mtaal.results import claim_tests as T
from mtaal.results.compare import load_reported, mtaal_report_rounds
from mtaal.results.store import read_store

HOLDS, FAILS, UNSURE = "holds", "does not hold", "inconclusive"
RUNS, PAPER = "our runs", "the paper's own numbers"
COLUMNS = [
    "claim_id",
    "paper",
    "claim",
    "basis",
    "verdict",
    "effect_label",
    "effect",
    "effect_ci95_low",
    "effect_ci95_high",
    "test",
    "n",
    "p_value",
    "p_holm",
    "p_against",
    "p_against_holm",
    "attainable_p",
    "needs",
    "mde",
    "trivial_baseline",
    "evidence",
    "rests_on",
    "tier",
]
UNCERTAINTY = ("lc", "entropy", "random")
TASKS = ("ner", "nen")
# Claims not judged on the store's F1 (5: query diversity; 8: the report's Fig. 4 points): what
# drop_untrained left out does not concern them.
NOT_ON_STORE_F1 = {5, 8}
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
    # Multitask: experiment (stl / mtl), metric (word_f1 / entity_f1), study (main / ablation),
    # ablation_fraction, dataset (task), value (seed mean)
    tasks: pd.DataFrame
    # Fig. 4 per task: test_word_f1, train_sequences, annotation_density (None: not available)
    fig4: pd.DataFrame | None
    # dataset -> score an all-O predictor reaches on the metric judged for NEN (only where it is high)
    all_o: Mapping[str, float] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)  # paper -> what drop_untrained left out
    entity_types: Mapping[str, str] = field(default_factory=dict)  # multitask task -> its entity type

    def absent(self, what: str) -> str:
        return f"no runs of {what} at this tier" if self.basis == RUNS else f"printed data missing: {what}"


@dataclass
class Context:
    store: pd.DataFrame
    report_after_round: Mapping[str, int]
    diversity: pd.DataFrame  # MTAAL query_diversity.parquet
    fig4_points: pd.DataFrame  # multitask fig4_stl_correlation.parquet
    alpha: float
    margin: float
    correlation_margin: float
    multitask_report: str = "results/multitask/<encoder>/report"


@dataclass
class Verdict:
    claim_id: int
    paper: str
    claim: str
    evidence: str
    rests_on: str
    result: T.Result | None = None  # None: nothing to test
    missing: str = ""  # why there was nothing to test
    trivial_baseline: str = ""


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
    for experiment in ("stl", "mtl"):
        for metric in (WORD_F1, ENTITY_F1):
            means = _stl_task_means(store, experiment, metric).assign(experiment=experiment, metric=metric)
            # One set of runs serves the main tables and the ablation tables.
            main = means[means["ablation_fraction"] == 0].assign(study="main")
            parts += [means.assign(study="ablation"), main]
    fig4 = ctx.fig4_points if ctx.fig4_points is not None and not ctx.fig4_points.empty else None
    # the entity type the store was written with (the registry's)
    typed = store[store["paper"] == "multitask"].drop_duplicates("dataset")
    return Evidence(RUNS, mtaal, dict(zip(TASKS, RUN_MTAAL_METRICS, strict=True)), ctx.diversity,
                    pd.concat(parts, ignore_index=True), fig4, {}, notes,
                    dict(zip(typed["dataset"], typed["entity_type"], strict=True)))


def _table_is(table: pd.Series, *numbers: int) -> pd.Series:
    found = table.astype(str).str.extract(r"(\d+)", expand=False)
    return found.isin([str(n) for n in numbers])


def paper_evidence(reported: pd.DataFrame, all_o: Mapping[str, float] | None = None) -> Evidence:
    """The printed numbers (``config/reported/*.csv`` rows, columns :data:`REPORTED_COLUMNS`) in the layout
    the claims read. Group averages (``group:...``) and third-party systems are no units and are left out."""
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
    return Evidence(PAPER, mtaal, dict(zip(TASKS, PAPER_MTAAL_METRICS, strict=True)), diversity, tasks, None,
                    dict(all_o or {}), entity_types={t: entity_type_of(t) for t in tasks["dataset"].unique()})


# -------------------------------------------------------------------------------- MTAAL claims (1-6)

MTAAL_UNIT = ["dataset", "model", "seed"]
MTAAL_RESTS = ("results/mtaal/tables/final_f1.parquet (Tables 2-3)", "MTAAL Tables 2-3")


def _wide(ev: Evidence, tasks: tuple[str, ...] = TASKS) -> pd.DataFrame:
    rows = ev.mtaal[ev.mtaal["task"].isin(tasks)]
    return rows.pivot_table(index=[*MTAAL_UNIT, "task"], columns="setting", values="value")


def _unit_means(per_row: pd.Series, unit: list[str] = MTAAL_UNIT) -> pd.Series:
    """Rows sharing a unit (its tasks / strategies) -> one value per unit."""
    per_row = per_row.dropna()
    return per_row.groupby(level=unit).mean() if len(per_row) else pd.Series(dtype=float)


def _pair_mean(wide: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.Series:
    """Per row: the mean of ``wide[a] - wide[b]`` over the pairs present (strategies of one unit)."""
    parts = [wide[a] - wide[b] for a, b in pairs if a in wide.columns and b in wide.columns]
    return pd.concat(parts, axis=1).mean(axis=1) if parts else pd.Series(dtype=float)


def _rests(ev: Evidence, runs: str, paper: str) -> str:
    return runs if ev.basis == RUNS else paper


def _units_text(diff: pd.Series) -> str:
    return f"{len(diff)} units ({', '.join(diff.index.names)})" if len(diff) else "no units"


def _nen_baseline(ev: Evidence, tasks: tuple[str, ...]) -> str:
    """What a model tagging every token O scores on the NEN metric judged, where that is not 0."""
    if "nen" not in tasks or ev.metric_names["nen"] not in TRIVIALLY_HIGH:
        return ""
    datasets = sorted(set(ev.mtaal.loc[ev.mtaal["task"] == "nen", "dataset"]))
    scores = ", ".join(f"{d} {ev.all_o[d]:.3f}" if d in ev.all_o else f"{d} not computed (no runs here)"
                       for d in datasets)
    return (f"NEN here is {ev.metric_names['nen']} (token accuracy, O included): a model tagging every "
            f"token O scores {scores}")


def _directional(claim_id: int, claim: str, diff: pd.Series, ev: Evidence, alpha: float, what: str,
                 rests: str, tasks: tuple[str, ...], missing: str) -> Verdict:
    if diff.empty:
        return Verdict(claim_id, "mtaal", claim, ev.absent(missing), rests, missing=ev.absent(missing))
    result = T.greater(diff, alpha)
    evidence = f"{what} [{', '.join(ev.metric_names[t] for t in tasks)}] over {_units_text(diff)}"
    return Verdict(claim_id, "mtaal", claim, evidence, rests, result,
                   trivial_baseline=_nen_baseline(ev, tasks))


def claim1(ev: Evidence, alpha: float, margin: float) -> Verdict:
    wide = _wide(ev, ("ner",))
    diff = _unit_means(_pair_mean(wide, [(f"stl_ner-{s}", f"mtl-{s}") for s in UNCERTAINTY]))
    return _directional(
        1, "Multi-task LC / entropy / random without TD score below their single-task versions on NER",
        diff, ev, alpha, "single-task - multi-task NER, mean over LC, entropy, random within each unit",
        _rests(ev, *MTAAL_RESTS), ("ner",), "single- and multi-task LC / entropy / random")


def claim2(ev: Evidence, alpha: float, margin: float) -> Verdict:
    claim = "MTAAL has the best NER and NEN F1 of all strategies on both datasets"
    wide = _wide(ev)
    margins = []
    for scenario, own in (("ST", "stl_{task}-diversity"), ("MT", "mtaal")):
        for task in TASKS:
            column = own.format(task=task)
            rivals = [(f"stl_{task}-{s}" if scenario == "ST" else f"mtl-{s}") for s in UNCERTAINTY]
            rivals = [r for r in rivals if r in wide.columns]
            if column not in wide.columns or not rivals or task not in wide.index.get_level_values("task"):
                continue  # e.g. NEN left out: no model learned it at this tier
            rows = wide.xs(task, level="task")
            margins.append((rows[column] - rows[rivals].max(axis=1)).rename(f"{scenario} {task.upper()}"))
    if not margins:
        return Verdict(2, "mtaal", claim, ev.absent("MTAAL beside LC / entropy / random"),
                       _rests(ev, *MTAAL_RESTS), missing=ev.absent("MTAAL beside LC / entropy / random"))
    cells = pd.concat(margins, axis=1)
    diff = cells.min(axis=1).dropna()  # the unit's worst cell: "best in every cell"
    best = int((cells > 0).sum().sum())
    evidence = (f"per unit, the smallest margin of the MTAAL row over the best of LC / entropy / random "
                f"across the cells {', '.join(cells.columns)} "
                f"[{ev.metric_names['ner']}, {ev.metric_names['nen']}] "
                f"over {_units_text(diff)}; MTAAL best in {best} of {int(cells.notna().sum().sum())} cells")
    result = replace(T.greater(diff, alpha), effect_label="mean of each unit's smallest margin")
    return Verdict(2, "mtaal", claim, evidence, _rests(ev, *MTAAL_RESTS), result,
                   trivial_baseline=_nen_baseline(ev, TASKS))


def claim3(ev: Evidence, alpha: float, margin: float) -> Verdict:
    wide = _wide(ev)
    diff = _unit_means(_pair_mean(wide, [(f"mtl_td-{s}", f"mtl-{s}") for s in UNCERTAINTY]))
    return _directional(
        3, "Adding the task discriminator improves LC, entropy and random in multi-task", diff, ev, alpha,
        "with TD - without, mean over LC, entropy, random and NER / NEN within each unit",
        _rests(ev, "results/mtaal/figures/fig6_td_effect.png (Fig. 6)", "MTAAL Fig. 6 (a plot; Tables 2-3 "
               "print no multi-task run with TD)"), TASKS, "multi-task LC / entropy / random with TD")


def claim4(ev: Evidence, alpha: float, margin: float) -> Verdict:
    wide = _wide(ev)
    diff = _unit_means(_pair_mean(wide, [("mtaal-no_td", "mtaal-no_dd")]))
    return _directional(
        4, "Removing the diversity discriminator costs more than removing the task discriminator", diff, ev,
        alpha, "F1 without TD - F1 without DD, mean over NER / NEN within each unit",
        _rests(ev, "results/mtaal/figures/fig8_ablation.png (Fig. 8)", "MTAAL Fig. 8 (a plot; no printed "
               "numbers)"), TASKS, "MTAAL without TD and without DD")


def claim5(ev: Evidence, alpha: float, margin: float) -> Verdict:
    claim = "MTAAL's queries hold more distinct words and more entities than random's"
    rests = _rests(ev, "results/mtaal/tables/query_diversity.parquet (Table 4)", "MTAAL Table 4 (mean ± std "
                   f"over {MTAAL_TABLE4_REPEATS} repeats)")
    table = ev.diversity.set_index(["dataset", "variant", "statistic"]) if not ev.diversity.empty else None
    parts, text = {}, []
    datasets = sorted(ev.diversity["dataset"].unique()) if table is not None else []
    for dataset in datasets:
        for statistic in ("distinct_words", "entity_mentions"):
            try:
                a, b = table.loc[(dataset, "mtaal", statistic)], table.loc[(dataset, "mtl-random", statistic)]
            except KeyError:
                continue
            stats_a = pd.Series({"mean": a["mean"], "std": a["std"], "n": a["n_repeats"]})
            stats_b = pd.Series({"mean": b["mean"], "std": b["std"], "n": b["n_repeats"]})
            parts[f"{dataset} {statistic}"] = T.welch_greater(stats_a, stats_b, alpha)
            text.append(f"{dataset} {statistic}: MTAAL {a['mean']:.1f} ± {a['std']:.1f} vs random "
                        f"{b['mean']:.1f} ± {b['std']:.1f} "
                        f"({int(a['n_repeats'])} / {int(b['n_repeats'])} repeats)")
    if not parts:
        return Verdict(5, "mtaal", claim, ev.absent("MTAAL and random query diversity"), rests,
                       missing=ev.absent("MTAAL and random query diversity"))
    result, binding = T.intersection(parts)
    evidence = "; ".join(text) + f"; the repeat is the unit; binding part: {binding}"
    return Verdict(5, "mtaal", claim, evidence, rests, result)


def claim6(ev: Evidence, alpha: float, margin: float) -> Verdict:
    claim = "The choice of word2vec vs GloVe changes little"
    rows = ev.mtaal.pivot_table(index=["dataset", "seed", "setting", "task"], columns="model", values="value")
    if not {"word2vec", "glove"} <= set(rows.columns):
        return Verdict(6, "mtaal", claim, ev.absent("both word2vec and GloVe"), _rests(ev, *MTAAL_RESTS),
                       missing=ev.absent("both word2vec and GloVe"))
    diff = _unit_means(rows["word2vec"] - rows["glove"], ["dataset", "seed"])
    evidence = (f"word2vec - GloVe, mean over every variant and NER / NEN within each unit "
                f"[{ev.metric_names['ner']}, {ev.metric_names['nen']}] over {_units_text(diff)}; "
                f"equivalence margin ±{margin:g}")
    return Verdict(6, "mtaal", claim, evidence, _rests(ev, *MTAAL_RESTS), T.equivalent(diff, margin, alpha),
                   trivial_baseline=_nen_baseline(ev, TASKS))


# -------------------------------------------------------------------------------- multitask claims (7-11)


def _task_scores(ev: Evidence, experiment: str, metric: str, study: str = "main") -> pd.DataFrame:
    """Rows dataset x ablation_fraction of seed-mean test scores."""
    rows = ev.tasks[(ev.tasks["experiment"] == experiment) & (ev.tasks["metric"] == metric)
                    & (ev.tasks["study"] == study)]
    return rows.pivot_table(index="dataset", columns="ablation_fraction", values="value")


def _at_zero(scores: pd.DataFrame) -> pd.Series:
    return scores[0.0].dropna() if 0.0 in scores.columns else pd.Series(dtype=float)


def _report(ev: Evidence, runs_file: str, paper_tables: str, ctx_report: str) -> str:
    return f"{ctx_report}/{runs_file}" if ev.basis == RUNS else f"Multitask {paper_tables}"


def claim7(ev: Evidence, alpha: float, margin: float, report: str) -> Verdict:
    claim = "MTL does not generally beat STL and the overall difference is not significant"
    rests = _report(ev, "table3_mtl_vs_stl.parquet (Table 3)", "Tables 2-3 (test word F1)", report)
    mtl, stl = _at_zero(_task_scores(ev, "mtl", WORD_F1)), _at_zero(_task_scores(ev, "stl", WORD_F1))
    diff = (mtl - stl).dropna()
    if diff.empty:
        return Verdict(7, "multitask", claim, ev.absent("MTL and STL on shared tasks"), rests,
                       missing=ev.absent("MTL and STL on shared tasks"))
    evidence = (f"MTL - STL test word F1 over {len(diff)} tasks (the task is the unit); equivalence margin "
                f"±{margin:g}")
    return Verdict(7, "multitask", claim, evidence, rests, T.equivalent(diff, margin, alpha))


def claim8(ev: Evidence, alpha: float, correlation_margin: float, report: str) -> Verdict:
    claim = "STL F1 correlates with annotation density and not with training sequence count"
    rests = _report(ev, "fig4_stl_correlation.parquet (Fig. 4)", "Fig. 4", report)
    if ev.fig4 is None:
        missing = ev.absent(
            "per-task annotation density and training sequence counts (Table 1 prints mentions, not tokens; "
            "Supplemental Table 1 only per-type sequence averages; the text gives r = 0.52 for density and "
            "no r for sequence count)" if ev.basis == PAPER else "STL with Fig. 4 points")
        return Verdict(8, "multitask", claim, missing, rests, missing=missing)
    points = ev.fig4
    parts = {}
    for variable in ("annotation_density", "train_sequences"):
        usable = points.dropna(subset=[variable, "test_word_f1"])
        x, y = usable[variable].to_numpy(float), usable["test_word_f1"].to_numpy(float)
        constant = len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0
        r = math.nan if constant else float(np.corrcoef(x, y)[0, 1])
        parts[variable] = (T.correlation_positive(r, len(x), alpha) if variable == "annotation_density"
                           else T.correlation_negligible(r, len(x), correlation_margin, alpha))
    result, binding = T.intersection(parts)
    density, size = parts["annotation_density"], parts["train_sequences"]
    evidence = (f"density r = {density.effect:.3f} (n = {density.n}, one-sided p = {density.p:.3g}); "
                f"training sequences r = {size.effect:.3f} (TOST p = {size.p:.3g}, attainable >= "
                f"{size.attainable_p:.3g}"
                f", margin |r| < {correlation_margin:g}); binding part: {binding}")
    return Verdict(8, "multitask", claim, evidence, rests, result)


def claim9(ev: Evidence, alpha: float, margin: float, report: str) -> Verdict:
    claim = "Under data ablation STL degrades faster than MTL"
    rests = _report(ev, "table4_stl_ablation.parquet, table5_mtl_ablation.parquet (Tables 4-5)",
                    "Tables 4-5", report)
    stl, mtl = _task_scores(ev, "stl", WORD_F1, "ablation"), _task_scores(ev, "mtl", WORD_F1, "ablation")
    fractions = sorted(f for f in set(stl.columns) & set(mtl.columns) if f > 0)
    if not fractions or 0.0 not in stl.columns or 0.0 not in mtl.columns:
        return Verdict(9, "multitask", claim, ev.absent("STL and MTL at ablation 0 and a shared fraction"),
                       rests, missing=ev.absent("STL and MTL at ablation 0 and a shared fraction"))
    stl_drop = stl[fractions].rsub(stl[0.0], axis=0).mean(axis=1)
    mtl_drop = mtl[fractions].rsub(mtl[0.0], axis=0).mean(axis=1)
    diff = (stl_drop - mtl_drop).dropna()
    if diff.empty:
        return Verdict(9, "multitask", claim, ev.absent("STL and MTL ablation on shared tasks"), rests,
                       missing=ev.absent("STL and MTL ablation on shared tasks"))
    evidence = (f"STL drop - MTL drop in test word F1 from ablation 0, mean over fractions "
                f"{', '.join(f'{f:g}' for f in fractions)}, over {len(diff)} tasks")
    return Verdict(9, "multitask", claim, evidence, rests, T.greater(diff, alpha))


def claim10(ev: Evidence, alpha: float, margin: float, report: str) -> Verdict:
    claim = "Chemical tasks score highest and species lowest on average"
    rests = _report(ev, "table2_stl.parquet (Table 2)", "Table 2 (test word F1)", report)
    scores = _at_zero(_task_scores(ev, "stl", WORD_F1))
    types = pd.Series(scores.index.map(ev.entity_types), index=scores.index)
    if not {"chemical", "species"} <= set(types):
        return Verdict(10, "multitask", claim, ev.absent("STL chemical and species tasks"), rests,
                       missing=ev.absent("STL chemical and species tasks"))
    parts = {}
    for other in sorted(set(types) - {"chemical"}):
        parts[f"chemical > {other}"] = T.two_sample_greater(
            scores[types == "chemical"], scores[types == other], alpha)
    for other in sorted(set(types) - {"chemical", "species"}):
        parts[f"{other} > species"] = T.two_sample_greater(
            scores[types == other], scores[types == "species"], alpha)
    result, binding = T.intersection(parts)
    chemical_species = parts["chemical > species"]
    result = replace(result, n=len(scores), effect=chemical_species.effect, low=chemical_species.low,
                     high=chemical_species.high, effect_label="chemical - species mean")
    means = scores.groupby(types).mean().sort_values(ascending=False)
    confidence = T.ordering_confidence(scores, types, "chemical", "species")
    evidence = (f"STL test word F1 by entity type (mean over tasks, the task is the unit): "
                f"{', '.join(f'{t} {v:.3f} ({int((types == t).sum())})' for t, v in means.items())}; "
                f"bootstrap confidence in the ordering {confidence:.2f}; binding part: {binding}")
    return Verdict(10, "multitask", claim, evidence, rests, result)


def claim11(ev: Evidence, alpha: float, margin: float, report: str) -> Verdict:
    claim = "Entity-level F1 is below word-level F1"
    rests = _report(ev, "table7_entity_level.parquet (Table 7)", "Tables 2 and 7 (STL test F1)", report)
    word = _at_zero(_task_scores(ev, "stl", WORD_F1))
    entity = _at_zero(_task_scores(ev, "stl", ENTITY_F1))
    diff = (word - entity).dropna()
    if diff.empty:
        return Verdict(11, "multitask", claim, ev.absent("STL word- and entity-level F1"), rests,
                       missing=ev.absent("STL word- and entity-level F1"))
    return Verdict(11, "multitask", claim, f"STL test word F1 - entity F1 over {len(diff)} tasks", rests,
                   T.greater(diff, alpha))


MTAAL_CLAIMS: tuple[Callable[[Evidence, float, float], Verdict], ...] = (
    claim1, claim2, claim3, claim4, claim5, claim6,
)
MULTITASK_CLAIMS = (claim7, claim8, claim9, claim10, claim11)


# -------------------------------------------------------------------------------- verdicts and the table


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


def judge_basis(ev: Evidence, alpha: float, margin: float, correlation_margin: float,
                report: str = "results/multitask/<encoder>/report") -> list[dict]:
    """Every claim on one basis, Holm-corrected over its testable claims; one row dict per claim."""
    verdicts = [claim(ev, alpha, margin) for claim in MTAAL_CLAIMS]
    verdicts += [claim(ev, alpha, correlation_margin if claim is claim8 else margin, report)
                 for claim in MULTITASK_CLAIMS]
    testable = [i for i, v in enumerate(verdicts) if v.result is not None and v.result.testable(alpha)]
    p_holm = dict(zip(testable, T.holm([verdicts[i].result.p for i in testable]), strict=True))
    against_holm = dict(zip(testable, T.holm([verdicts[i].result.p_against for i in testable]), strict=True))
    rows = []
    for i, v in enumerate(verdicts):
        r = v.result
        if r is None:
            verdict = f"{UNSURE}: {v.missing}"
        elif not r.testable(alpha):
            verdict = f"{UNSURE}: n too small (attainable p >= {r.attainable_p:.3g})"
        elif p_holm[i] < alpha:
            verdict = HOLDS
        elif np.isfinite(against_holm[i]) and against_holm[i] < alpha:
            verdict = FAILS
        else:
            verdict = UNSURE
        evidence = v.evidence
        if ev.basis == RUNS and v.paper in ev.notes and v.claim_id not in NOT_ON_STORE_F1:
            evidence += f" [{ev.notes[v.paper]}]"
        rows.append(dict(
            claim_id=v.claim_id, paper=v.paper, claim=v.claim, basis=ev.basis, verdict=verdict,
            effect_label=r.effect_label if r else "", effect=r.effect if r else math.nan,
            effect_ci95_low=r.low if r else math.nan, effect_ci95_high=r.high if r else math.nan,
            test=r.test if r else "", n=r.n if r else 0, p_value=r.p if r else math.nan,
            p_holm=p_holm.get(i, math.nan), p_against=r.p_against if r else math.nan,
            p_against_holm=against_holm.get(i, math.nan), attainable_p=r.attainable_p if r else math.nan,
            needs=r.needs if r else "", mde=r.mde if r else math.nan, trivial_baseline=v.trivial_baseline,
            evidence=evidence, rests_on=v.rests_on,
        ))
    return rows


def judge_claims(ctx: Context, reported: pd.DataFrame, tier: str) -> pd.DataFrame:
    """The claims table: each claim on our runs and on the paper's own numbers (``reported``: the
    ``config/reported`` rows as a DataFrame)."""
    rows = []
    all_o = all_o_nen_accuracy(ctx.store, ctx.report_after_round)
    for ev in (runs_evidence(ctx), paper_evidence(reported, all_o)):
        rows += judge_basis(ev, ctx.alpha, ctx.margin, ctx.correlation_margin, ctx.multitask_report)
    # Rows come basis by basis; a stable sort on the claim puts each claim's two rows together.
    table = pd.DataFrame(rows).assign(tier=tier)
    return table.sort_values("claim_id", kind="stable")[COLUMNS].reset_index(drop=True)


def outcome(verdict: str) -> str:
    """holds / does not hold / inconclusive, without the reason after the colon."""
    return verdict.split(":", 1)[0]


def _num(value: float, digits: str = ".3g") -> str:
    return "" if pd.isna(value) else ("inf" if value == math.inf else f"{value:{digits}}")


def claims_markdown(claims: pd.DataFrame) -> str:
    caveat = claims["trivial_baseline"].map(
        lambda b: f" (NEN is token accuracy; all-O scores {b.split('token O scores ', 1)[-1]})" if b else "")
    detectable = [f" (smallest effect detectable at power 0.8: {m:.3g})"
                  if v == UNSURE and np.isfinite(m) else ""
                  for v, m in zip(claims["verdict"], claims["mde"], strict=True)]
    shown = claims["verdict"] + detectable + caveat
    wide = (claims.assign(verdict=shown)
            .pivot(index=["claim_id", "paper", "claim"], columns="basis", values="verdict").reset_index())
    summary = wide.rename(columns={RUNS: "on our runs", PAPER: "on the paper's own numbers"})
    summary = summary.reindex(
        columns=["claim_id", "paper", "claim", "on our runs", "on the paper's own numbers"])
    lines = [
        "# The papers' claims at this tier",
        "",
        "Each claim judged on this tier's runs and on the paper's own printed numbers (config/reported/). "
        "Rules: README 'Results, claims and the report'; method: mtaal/results/claims.py.",
        "",
        summary.to_markdown(index=False),
    ]
    for basis in (RUNS, PAPER):
        rows = claims[claims["basis"] == basis]
        view = pd.DataFrame({
            "claim": rows["claim_id"],
            "verdict": rows["verdict"],
            "effect [95% CI]": [
                "" if pd.isna(e) else f"{label} {e:+.4g} [{_num(lo, '+.4g')}, {_num(hi, '+.4g')}]"
                for label, e, lo, hi in zip(rows["effect_label"], rows["effect"], rows["effect_ci95_low"],
                                            rows["effect_ci95_high"], strict=True)],
            "n": rows["n"],
            "p": rows["p_value"].map(_num),
            "p (Holm)": rows["p_holm"].map(_num),
            "p against (Holm)": rows["p_against_holm"].map(_num),
            "attainable p": rows["attainable_p"].map(_num),
            "MDE (power 0.8)": rows["mde"].map(lambda m: _num(m, ".3g")),
            "test": rows["test"],
            "evidence": [e + (f" — {b}" if b else "") for e, b in
                         zip(rows["evidence"], rows["trivial_baseline"], strict=True)],
            "rests on": rows["rests_on"],
        })
        lines += ["", f"## On {basis}", "", view.to_markdown(index=False)]
    return "\n".join(lines) + "\n"


def write_claims(store_dir: Path | Sequence[Path], diversity: Path, multitask_report: Path,
                 reported: Sequence[Path], settings: Mapping, tier: str, parquet: Path,
                 markdown: Path) -> pd.DataFrame:
    """Judge the claims on the results store, MTAAL's query diversity table and the multitask report's
    Fig. 4 points; write the table (parquet) and its markdown. ``settings``: ``report_after_round`` (config
    mtaal) and ``alpha``, ``margin``, ``correlation_margin`` (config results)."""
    context = Context(
        store=read_store(store_dir),
        report_after_round=settings["report_after_round"],
        diversity=pd.read_parquet(diversity),
        fig4_points=pd.read_parquet(Path(multitask_report) / "fig4_stl_correlation.parquet"),
        alpha=settings["alpha"],
        margin=settings["margin"],
        correlation_margin=settings["correlation_margin"],
        multitask_report=str(multitask_report),
    )
    claims = judge_claims(context, load_reported([Path(p) for p in reported]), tier)
    write_parquet(pa.Table.from_pandas(claims, preserve_index=False), parquet)
    write_text(claims_markdown(claims), markdown)
    return claims
