"""The claims (1-6 and 12 MTAAL, 7-11 and 13 multitask), each a function of one basis's
:class:`~mtaal.results.claim_evidence.Evidence` returning its :class:`Verdict` (the test's result, or why
there was nothing to test); :mod:`mtaal.results.claims` judges them together."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mtaal.results import claim_tests as T
from mtaal.results.claim_evidence import (
    ENTITY_F1,
    MTAAL_TABLE4_REPEATS,
    PAPER,
    RUNS,
    TASKS,
    TRIVIALLY_HIGH,
    WORD_F1,
    Evidence,
)

UNCERTAINTY = ("lc", "entropy", "random")


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


def _directional(claim_id: int, claim: str, diff: pd.Series, ev: Evidence, what: str,
                 rests: str, tasks: tuple[str, ...], missing: str) -> Verdict:
    if diff.empty:
        return Verdict(claim_id, "mtaal", claim, ev.absent(missing), rests, missing=ev.absent(missing))
    result = T.greater(diff)
    evidence = f"{what} [{', '.join(ev.metric_names[t] for t in tasks)}] over {_units_text(diff)}"
    return Verdict(claim_id, "mtaal", claim, evidence, rests, result,
                   trivial_baseline=_nen_baseline(ev, tasks))


def claim1(ev: Evidence, margin: float) -> Verdict:
    wide = _wide(ev, ("ner",))
    diff = _unit_means(_pair_mean(wide, [(f"stl_ner-{s}", f"mtl-{s}") for s in UNCERTAINTY]))
    return _directional(
        1, "Multi-task LC / entropy / random without TD score below their single-task versions on NER",
        diff, ev, "single-task - multi-task NER, mean over LC, entropy, random within each unit",
        _rests(ev, *MTAAL_RESTS), ("ner",), "single- and multi-task LC / entropy / random")


def _claim2_pairs(wide: pd.DataFrame) -> dict[str, pd.Series]:
    """Per (cell, rival) pair: MTAAL's score minus the rival's, per unit. The cells are single-task (the
    diversity row) and multi-task (MTAAL) NER and NEN, the rivals LC, entropy and random of the same cell."""
    pairs = {}
    cells = (("ST", "stl_{task}-diversity", "stl_{task}-{s}"), ("MT", "mtaal", "mtl-{s}"))
    for scenario, own, rival in cells:
        for task in TASKS:
            mine = own.format(task=task)
            if mine not in wide.columns or task not in wide.index.get_level_values("task"):
                continue  # e.g. NEN left out: no model learned it at this tier
            rows = wide.xs(task, level="task")
            for s in UNCERTAINTY:
                if (theirs := rival.format(task=task, s=s)) in rows.columns:
                    pairs[f"{scenario} {task.upper()} vs {s}"] = (rows[mine] - rows[theirs]).dropna()
    return pairs


def claim2(ev: Evidence, margin: float) -> Verdict:
    claim = "MTAAL has the best NER and NEN F1 of all strategies on both datasets"
    pairs = _claim2_pairs(_wide(ev))
    if not pairs:
        return Verdict(2, "mtaal", claim, ev.absent("MTAAL beside LC / entropy / random"),
                       _rests(ev, *MTAAL_RESTS), missing=ev.absent("MTAAL beside LC / entropy / random"))
    # One test per pair, never "MTAAL minus the best of the noisy rivals": that maximum is biased upwards.
    result, binding = T.intersection({name: T.greater(diff) for name, diff in pairs.items()})
    ahead = sum(diff.mean() > 0 for diff in pairs.values())
    widest = max(pairs.values(), key=len)
    evidence = (f"MTAAL - rival per unit, one one-sided test per (cell, rival) pair "
                f"[{ev.metric_names['ner']}, {ev.metric_names['nen']}] over {_units_text(widest)}; "
                f"MTAAL ahead on average in {ahead} of {len(pairs)} pairs; binding pair: {binding}")
    result = replace(result, effect_label=f"MTAAL - rival, {binding}")
    return Verdict(2, "mtaal", claim, evidence, _rests(ev, *MTAAL_RESTS), result,
                   trivial_baseline=_nen_baseline(ev, TASKS))


def claim3(ev: Evidence, margin: float) -> Verdict:
    wide = _wide(ev)
    diff = _unit_means(_pair_mean(wide, [(f"mtl_td-{s}", f"mtl-{s}") for s in UNCERTAINTY]))
    return _directional(
        3, "Adding the task discriminator improves LC, entropy and random in multi-task", diff, ev,
        "with TD - without, mean over LC, entropy, random and NER / NEN within each unit",
        _rests(ev, "results/mtaal/figures/fig6_td_effect.png (Fig. 6)", "MTAAL Fig. 6 (a plot; Tables 2-3 "
               "print no multi-task run with TD)"), TASKS, "multi-task LC / entropy / random with TD")


def claim4(ev: Evidence, margin: float) -> Verdict:
    wide = _wide(ev)
    diff = _unit_means(_pair_mean(wide, [("mtaal-no_td", "mtaal-no_dd")]))
    return _directional(
        4, "Removing the diversity discriminator costs more than removing the task discriminator", diff, ev,
        "F1 without TD - F1 without DD, mean over NER / NEN within each unit",
        _rests(ev, "results/mtaal/figures/fig8_ablation.png (Fig. 8)", "MTAAL Fig. 8 (a plot; no printed "
               "numbers)"), TASKS, "MTAAL without TD and without DD")


def claim5(ev: Evidence, margin: float) -> Verdict:
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
            parts[f"{dataset} {statistic}"] = T.welch_greater(stats_a, stats_b)
            text.append(f"{dataset} {statistic}: MTAAL {a['mean']:.1f} ± {a['std']:.1f} vs random "
                        f"{b['mean']:.1f} ± {b['std']:.1f} "
                        f"({int(a['n_repeats'])} / {int(b['n_repeats'])} repeats)")
    if not parts:
        return Verdict(5, "mtaal", claim, ev.absent("MTAAL and random query diversity"), rests,
                       missing=ev.absent("MTAAL and random query diversity"))
    result, binding = T.intersection(parts)
    evidence = "; ".join(text) + f"; the repeat is the unit; binding part: {binding}"
    return Verdict(5, "mtaal", claim, evidence, rests, result)


def claim6(ev: Evidence, margin: float) -> Verdict:
    claim = "The choice of word2vec vs GloVe changes little"
    rows = ev.mtaal.pivot_table(index=["dataset", "seed", "setting", "task"], columns="model", values="value")
    if not {"word2vec", "glove"} <= set(rows.columns):
        return Verdict(6, "mtaal", claim, ev.absent("both word2vec and GloVe"), _rests(ev, *MTAAL_RESTS),
                       missing=ev.absent("both word2vec and GloVe"))
    diff = _unit_means(rows["word2vec"] - rows["glove"], ["dataset", "seed"])
    evidence = (f"word2vec - GloVe, mean over every variant and NER / NEN within each unit "
                f"[{ev.metric_names['ner']}, {ev.metric_names['nen']}] over {_units_text(diff)}; "
                f"equivalence margin ±{margin:g}; the printed runs could not have differed in their "
                f"vectors: the released code resets the word embedding to random before training "
                f"(FIDELITY.md, \"Word embeddings\"), so its +g and +w rows differ by chance alone")
    return Verdict(6, "mtaal", claim, evidence, _rests(ev, *MTAAL_RESTS), T.equivalent(diff, margin),
                   trivial_baseline=_nen_baseline(ev, TASKS))


# MTAAL's forms beside the multi-task baselines of the same setting: the paper's (per-sentence DD), the
# release's per-word DD, the release's random word vectors.
COST_PAIRS = [
    *(("mtaal", f"mtl-{rival}") for rival in UNCERTAINTY),
    *(("mtaal-word_dd", rival) for rival in ("mtl-random", "mtl-entropy_max", "mtl-entropy", "mtl-lc")),
    ("mtaal-release_vectors", "mtl-random-release_vectors"),
]


def claim12(ev: Evidence, margin: float) -> Verdict:
    claim = "MTAAL beats the multi-task baselines at equal annotation cost (labeled words)"
    rests = _rests(ev, "results/mtaal/tables/annotation_cost.parquet (F1 at equal words)",
                   "no printed labeled-word counts")
    if ev.basis == PAPER:
        missing = "printed data missing: neither paper prints how many words its queries labeled"
        return Verdict(12, "mtaal", claim, missing, rests, missing=missing)
    wide = (ev.equal_cost.pivot_table(index=["dataset", "model", "seed"], columns="setting", values="value")
            if len(ev.equal_cost) else pd.DataFrame())
    pairs = {f"{own} vs {rival}": (wide[own] - wide[rival]).dropna() for own, rival in COST_PAIRS
             if own in wide.columns and rival in wide.columns}
    pairs = {name: diff for name, diff in pairs.items() if len(diff)}
    if not pairs:
        missing = ev.absent("MTAAL and a multi-task baseline that record their annotation cost")
        return Verdict(12, "mtaal", claim, missing, rests, missing=missing)
    result, binding = T.intersection({name: T.greater(diff) for name, diff in pairs.items()})
    widest = max(pairs.values(), key=len)
    evidence = (f"MTAAL - rival, NER F1 (strict) at the dataset's common labeled-word budget, one "
                f"one-sided test per (MTAAL form, rival) pair that ran ({', '.join(pairs)}) over "
                f"{_units_text(widest)}; binding pair: {binding}")
    result = replace(result, effect_label=f"MTAAL - rival, {binding}")
    return Verdict(12, "mtaal", claim, evidence, rests, result)


# -------------------------------------------------------------------------------- multitask claims (7-11, 13)


def _task_scores(ev: Evidence, experiment: str, metric: str, study: str = "main") -> pd.DataFrame:
    """Rows dataset x ablation_fraction of seed-mean test scores."""
    rows = ev.tasks[(ev.tasks["experiment"] == experiment) & (ev.tasks["metric"] == metric)
                    & (ev.tasks["study"] == study)]
    return rows.pivot_table(index="dataset", columns="ablation_fraction", values="value")


def _at_zero(scores: pd.DataFrame) -> pd.Series:
    return scores[0.0].dropna() if 0.0 in scores.columns else pd.Series(dtype=float)


def _report(ev: Evidence, runs_file: str, paper_tables: str, ctx_report: str) -> str:
    return f"{ctx_report}/{runs_file}" if ev.basis == RUNS else f"Multitask {paper_tables}"


def claim7(ev: Evidence, margin: float, report: str) -> Verdict:
    claim = "MTL does not generally beat STL and the overall difference is not significant"
    rests = _report(ev, "table3_mtl_vs_stl.parquet (Table 3)", "Tables 2-3 (test word F1)", report)
    mtl, stl = _at_zero(_task_scores(ev, "mtl", WORD_F1)), _at_zero(_task_scores(ev, "stl", WORD_F1))
    diff = (mtl - stl).dropna()
    if diff.empty:
        return Verdict(7, "multitask", claim, ev.absent("MTL and STL on shared tasks"), rests,
                       missing=ev.absent("MTL and STL on shared tasks"))
    evidence = (f"MTL - STL test word F1 over {len(diff)} tasks (the task is the unit); equivalence margin "
                f"±{margin:g}")
    return Verdict(7, "multitask", claim, evidence, rests, T.equivalent(diff, margin))


def claim8(ev: Evidence, correlation_margin: float, report: str) -> Verdict:
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
        positive = variable == "annotation_density"
        test = (T.correlation_positive(r, len(x)) if positive
                else T.correlation_negligible(r, len(x), correlation_margin))
        parts[variable] = replace(test, rank=T.spearman_check(x, y, positive))
    result, binding = T.intersection(parts)
    density, size = parts["annotation_density"], parts["train_sequences"]
    evidence = (f"density r = {density.effect:.3f} (n = {density.n}, one-sided p = {density.p:.3g}); "
                f"training sequences r = {size.effect:.3f} (TOST p = {size.p:.3g}, attainable >= "
                f"{size.attainable_p:.3g}"
                f", margin |r| < {correlation_margin:g}); binding part: {binding}")
    return Verdict(8, "multitask", claim, evidence, rests, result)


def claim9(ev: Evidence, margin: float, report: str) -> Verdict:
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
    return Verdict(9, "multitask", claim, evidence, rests, T.greater(diff))


def claim10(ev: Evidence, margin: float, report: str) -> Verdict:
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
            scores[types == "chemical"], scores[types == other])
    for other in sorted(set(types) - {"chemical", "species"}):
        parts[f"{other} > species"] = T.two_sample_greater(
            scores[types == other], scores[types == "species"])
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


def claim11(ev: Evidence, margin: float, report: str) -> Verdict:
    claim = "Entity-level F1 is below word-level F1"
    rests = _report(ev, "table7_entity_level.parquet (Table 7)", "Tables 2 and 7 (STL test F1)", report)
    word = _at_zero(_task_scores(ev, "stl", WORD_F1))
    entity = _at_zero(_task_scores(ev, "stl", ENTITY_F1))
    diff = (word - entity).dropna()
    if diff.empty:
        return Verdict(11, "multitask", claim, ev.absent("STL word- and entity-level F1"), rests,
                       missing=ev.absent("STL word- and entity-level F1"))
    return Verdict(11, "multitask", claim, f"STL test word F1 - entity F1 over {len(diff)} tasks", rests,
                   T.greater(diff))


def _equal_data_stl(ev: Evidence) -> pd.DataFrame:
    """STL test word F1 per task and fraction as Table 6 sets it beside fine-tuning: at 0 the main runs
    (Table 6's STL column repeats Table 2), at a fraction above 0 the ablation runs (Table 4). Our runs: one
    set serves both."""
    main, ablation = _task_scores(ev, "stl", WORD_F1), _task_scores(ev, "stl", WORD_F1, "ablation")
    parts = {f: (main if f == 0 else ablation)[f] for f in sorted({*main.columns, *ablation.columns})
             if f in (main if f == 0 else ablation).columns}
    return pd.DataFrame(parts)


def claim13(ev: Evidence, margin: float, report: str) -> Verdict:
    claim = ("Fine-tuning from the entity-ablated MTL model beats single-task training at equal data "
             "(Table 6, Fig. 6)")
    rests = _report(ev, "table6_finetune.parquet (Table 6, Fig. 6)", "Tables 2, 4 and 6 (test word F1)",
                    report)
    finetune, stl = _task_scores(ev, "finetune", WORD_F1, "ablation"), _equal_data_stl(ev)
    fractions = sorted(set(finetune.columns) & set(stl.columns))
    diff = ((finetune[fractions] - stl[fractions]).mean(axis=1).dropna() if fractions
            else pd.Series(dtype=float))
    if diff.empty:
        return Verdict(13, "multitask", claim, ev.absent("fine-tuned and STL runs of a task at one fraction"),
                       rests, missing=ev.absent("fine-tuned and STL runs of a task at one fraction"))
    types = diff.groupby(diff.index.map(ev.entity_types)).agg(["mean", "size"])
    evidence = (f"fine-tuned - STL test word F1 at the same data ablation fraction (STL at 0: the main run, "
                f"as Table 6 prints it; above 0: the ablation run, Table 4), mean over fractions "
                f"{', '.join(f'{f:g}' for f in fractions)} within each task, over {len(diff)} tasks "
                f"(the task is the unit); by held-out entity type: "
                + ", ".join(f"{t} {row['mean']:+.3f} ({int(row['size'])})" for t, row in types.iterrows()))
    return Verdict(13, "multitask", claim, evidence, rests, T.greater(diff))


MTAAL_CLAIMS: tuple[Callable[[Evidence, float], Verdict], ...] = (
    claim1, claim2, claim3, claim4, claim5, claim6, claim12,
)
MULTITASK_CLAIMS = (claim7, claim8, claim9, claim10, claim11, claim13)
