"""The papers' qualitative claims, each judged on the runs of the tier that ran.

Verdicts: ``holds``, ``does not hold`` or ``inconclusive``. A directional claim ("A beats B") is judged by
a paired t test over matched units (same dataset, embedding, seed, ...): it holds when the mean difference
points the claimed way with p < alpha, does not hold when it points the other way with p < alpha, and is
inconclusive otherwise (including fewer than two units). "Changes little" is an equivalence judgement: it
holds when the 95% interval of the mean difference lies within +/- ``margin``, does not hold when it lies
wholly outside, and is inconclusive in between. Every row names the table or figure it rests on.

Scores of models that learned nothing are no evidence (a small tier can leave every F1 at 0, and zeros
on both sides would "show" equivalence): before judging, :func:`drop_untrained` leaves out MTAAL metrics
that are 0 in every run and HUNER tasks whose single-task test F1 is 0 in every seed, and each affected
verdict says what was left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from mtaal.multitask.report import entity_type_of
from mtaal.results.compare import ci95, mtaal_report_rounds

HOLDS, FAILS, UNSURE = "holds", "does not hold", "inconclusive"
COLUMNS = [
    "claim_id",
    "paper",
    "claim",
    "verdict",
    "effect",
    "test",
    "n",
    "p_value",
    "evidence",
    "rests_on",
    "tier",
]
UNCERTAINTY = ("lc", "entropy", "random")
# Claim 8 is judged on the multitask report's correlation statistics over every task, not on the store.
JUDGED_ON_REPORT = {8}
MIN_TASKS = 5  # below this a test over tasks cannot reach p < 0.05 (Wilcoxon) or means little


@dataclass
class Verdict:
    claim_id: int
    paper: str
    claim: str
    verdict: str
    effect: float
    test: str
    n: int
    p_value: float
    evidence: str
    rests_on: str


@dataclass
class Context:
    store: pd.DataFrame
    report_after_round: Mapping[str, int]
    diversity: pd.DataFrame  # MTAAL query_diversity.parquet
    fig4_stats: pd.DataFrame  # multitask fig4_stl_correlation_stats.parquet
    alpha: float
    margin: float
    multitask_report: str = "results/multitask/<encoder>/report"


def paired(diff: pd.Series, alpha: float) -> tuple[str, float, int, float]:
    """Verdict for "mean of ``diff`` > 0": (verdict, mean, n, p) by a one-sample (paired) t test."""
    diff = diff.dropna()
    n = len(diff)
    mean = float(diff.mean()) if n else math.nan
    if n < 2 or float(diff.std()) == 0.0:
        return UNSURE, mean, n, math.nan  # no variance: a t test is undefined
    p = float(stats.ttest_1samp(diff.to_numpy(), 0.0).pvalue)
    if p < alpha:
        return (HOLDS if mean > 0 else FAILS), mean, n, p
    return UNSURE, mean, n, p


def _all_hold(verdicts: list[str]) -> str:
    """A claim made for every cell: holds if it holds in each, fails if it fails in any."""
    if verdicts and all(v == HOLDS for v in verdicts):
        return HOLDS
    return FAILS if FAILS in verdicts else UNSURE


def _mtaal_wide(ctx: Context, metrics: tuple[str, ...]) -> pd.DataFrame:
    """MTAAL curve scores at the reported round: one row per (dataset, model, seed, metric), a column per
    variant."""
    rows = mtaal_report_rounds(ctx.store, ctx.report_after_round)
    rows = rows[rows["metric"].isin(metrics)]
    return rows.pivot_table(index=["dataset", "model", "seed", "metric"], columns="setting", values="value")


def _columns(wide: pd.DataFrame, *names: str) -> bool:
    return all(name in wide.columns for name in names)


def _diff_units(wide: pd.DataFrame, pairs: list[tuple[str, str]]) -> pd.Series:
    """Stack ``wide[a] - wide[b]`` over the (a, b) pairs both present."""
    parts = [(wide[a] - wide[b]).rename(f"{a} - {b}") for a, b in pairs if _columns(wide, a, b)]
    return pd.concat(parts) if parts else pd.Series(dtype=float)


def _directional(claim_id, paper, claim, diff, ctx, what, rests_on) -> Verdict:
    verdict, mean, n, p = paired(diff, ctx.alpha)
    evidence = (
        f"{what}: mean difference {mean:+.4f} over {n} paired units, paired t p = {p:.3g}"
        if n
        else f"{what}: no paired runs at this tier"
    )
    return Verdict(
        claim_id,
        paper,
        claim,
        verdict,
        mean,
        "paired t (one-sample on differences)",
        n,
        p,
        evidence,
        rests_on,
    )


MTAAL_TABLES = "results/mtaal/tables/final_f1.parquet (Tables 2-3)"


def claim1(ctx: Context) -> Verdict:
    wide = _mtaal_wide(ctx, ("ner_f1",))
    diff = _diff_units(wide, [(f"stl_ner-{s}", f"mtl-{s}") for s in UNCERTAINTY])
    return _directional(
        1,
        "mtaal",
        "Multi-task LC / entropy / random without TD score below their single-task versions on NER",
        diff,
        ctx,
        "single-task NER F1 - multi-task NER F1",
        MTAAL_TABLES,
    )


def claim2(ctx: Context) -> Verdict:
    claim = "MTAAL has the best NER and NEN F1 of all strategies on both datasets"
    wide = _mtaal_wide(ctx, ("ner_f1", "nen_f1"))
    if "mtaal" not in wide.columns:
        return Verdict(
            2, "mtaal", claim, UNSURE, math.nan, "rank", 0, math.nan, "no MTAAL runs", MTAAL_TABLES
        )
    parts, verdicts, ps, margins = [], [], [], []
    for (dataset, metric), frame in wide.groupby(level=["dataset", "metric"]):
        frame = frame.dropna(axis=1, how="all")
        means = frame.mean().sort_values(ascending=False)
        rivals = [v for v in means.index if v != "mtaal"]
        if not rivals:
            continue
        best_rival = rivals[0]
        rank = list(means.index).index("mtaal") + 1
        verdict, mean, n, p = paired(frame["mtaal"] - frame[best_rival], ctx.alpha)
        verdicts.append(verdict)
        ps.append(p)
        margins.append(mean)
        parts.append(
            f"{dataset} {metric}: MTAAL rank {rank}/{len(means)}, vs {best_rival} {mean:+.4f} "
            f"(p = {p:.3g}, n = {n})"
        )
    verdict = _all_hold(verdicts)
    return Verdict(
        2,
        "mtaal",
        claim,
        verdict,
        float(np.nanmin(margins)) if margins else math.nan,
        "rank + paired t vs the best other variant",
        len(verdicts),
        float(np.nanmax(ps)) if ps else math.nan,
        "; ".join(parts) or "no runs",
        MTAAL_TABLES,
    )


def claim3(ctx: Context) -> Verdict:
    wide = _mtaal_wide(ctx, ("ner_f1", "nen_f1"))
    diff = _diff_units(wide, [(f"mtl_td-{s}", f"mtl-{s}") for s in UNCERTAINTY])
    return _directional(
        3,
        "mtaal",
        "Adding the task discriminator improves LC, entropy and random in multi-task",
        diff,
        ctx,
        "F1 with TD - without (NER and NEN)",
        "results/mtaal/figures/fig6_td_effect.png (Fig. 6)",
    )


def claim4(ctx: Context) -> Verdict:
    wide = _mtaal_wide(ctx, ("ner_f1", "nen_f1"))
    diff = _diff_units(wide, [("mtaal-no_td", "mtaal-no_dd")])
    return _directional(
        4,
        "mtaal",
        "Removing the diversity discriminator costs more than removing the task discriminator",
        diff,
        ctx,
        "F1 without TD - F1 without DD (NER and NEN)",
        "results/mtaal/figures/fig8_ablation.png (Fig. 8)",
    )


def claim5(ctx: Context) -> Verdict:
    claim = "MTAAL's queries hold more distinct words and more entities than random's"
    rests = "results/mtaal/tables/query_diversity.parquet (Table 4)"
    table = ctx.diversity.set_index(["dataset", "variant", "statistic"]) if not ctx.diversity.empty else None
    parts, verdicts, effects, ps = [], [], [], []
    datasets = sorted(ctx.diversity["dataset"].unique()) if table is not None else []
    for dataset in datasets:
        for statistic in ("distinct_words", "entity_mentions"):
            try:
                a = table.loc[(dataset, "mtaal", statistic)]
                b = table.loc[(dataset, "mtl-random", statistic)]
            except KeyError:
                continue
            n = int(min(a["n_repeats"], b["n_repeats"]))
            effect = float(a["mean"] - b["mean"])
            if n < 2:
                p = math.nan
            else:
                p = float(
                    stats.ttest_ind_from_stats(
                        a["mean"],
                        a["std"],
                        a["n_repeats"],
                        b["mean"],
                        b["std"],
                        b["n_repeats"],
                        equal_var=False,
                    ).pvalue
                )
            verdicts.append(UNSURE if not p < ctx.alpha else (HOLDS if effect > 0 else FAILS))
            effects.append(effect)
            ps.append(p)
            parts.append(
                f"{dataset} {statistic}: MTAAL {a['mean']:.1f} vs random {b['mean']:.1f} "
                f"(Welch p = {p:.3g}, {n} repeats)"
            )
    verdict = _all_hold(verdicts)
    return Verdict(
        5,
        "mtaal",
        claim,
        verdict,
        float(np.nanmin(effects)) if effects else math.nan,
        "Welch t over repeats",
        len(verdicts),
        float(np.nanmax(ps)) if ps else math.nan,
        "; ".join(parts) or "no diversity runs of MTAAL and random",
        rests,
    )


def claim6(ctx: Context) -> Verdict:
    claim = "The choice of word2vec vs GloVe changes little"
    rows = mtaal_report_rounds(ctx.store, ctx.report_after_round)
    rows = rows[rows["metric"].isin(("ner_f1", "nen_f1"))]
    wide = rows.pivot_table(index=["dataset", "setting", "seed", "metric"], columns="model", values="value")
    if not _columns(wide, "word2vec", "glove"):
        return Verdict(
            6,
            "mtaal",
            claim,
            UNSURE,
            math.nan,
            "equivalence",
            0,
            math.nan,
            "runs of only one embedding at this tier",
            MTAAL_TABLES,
        )
    diff = (wide["word2vec"] - wide["glove"]).dropna()
    n = len(diff)
    mean, std = float(diff.mean()), float(diff.std())
    low, high = ci95(mean, std, n)
    if not np.isfinite(low):
        verdict = UNSURE
    elif -ctx.margin <= low and high <= ctx.margin:
        verdict = HOLDS
    elif low > ctx.margin or high < -ctx.margin:
        verdict = FAILS
    else:
        verdict = UNSURE
    p = float(stats.ttest_1samp(diff, 0.0).pvalue) if n >= 2 and std > 0 else math.nan
    evidence = (
        f"word2vec - GloVe F1 (NER and NEN, every variant): mean {mean:+.4f}, 95% CI "
        f"[{low:+.4f}, {high:+.4f}] over {n} paired runs; equivalence margin +/-{ctx.margin}"
    )
    return Verdict(
        6, "mtaal", claim, verdict, mean, "95% CI within equivalence margin", n, p, evidence, MTAAL_TABLES
    )


def claim7(ctx: Context) -> Verdict:
    claim = "MTL does not generally beat STL and the overall difference is not significant"
    rests = ctx.multitask_report + "/table3_mtl_vs_stl.parquet (Table 3)"
    stl = _stl_task_means(ctx.store, "stl", "word_f1")
    mtl = _stl_task_means(ctx.store, "mtl", "word_f1")
    diff = (mtl.get(0.0, pd.Series(dtype=float)) - stl.get(0.0, pd.Series(dtype=float))).dropna()
    n = len(diff)
    effect = float(diff.mean()) if n else math.nan
    p = float(stats.wilcoxon(diff.to_numpy()).pvalue) if n and (diff != 0).any() else math.nan
    judged = n >= MIN_TASKS and np.isfinite(p)
    verdict = (HOLDS if p >= ctx.alpha else FAILS) if judged else UNSURE
    evidence = (f"MTL - STL test word F1 over {n} tasks: mean {effect:+.4f}, Wilcoxon p = {p:.3g}"
                + (f" (fewer than {MIN_TASKS} tasks: too few to judge)" if n < MIN_TASKS else ""))
    return Verdict(
        7, "multitask", claim, verdict, effect, "Wilcoxon signed-rank over tasks", n, p, evidence, rests
    )


def claim8(ctx: Context) -> Verdict:
    claim = "STL F1 correlates with annotation density and not with training sequence count"
    rests = ctx.multitask_report + "/fig4_stl_correlation.png (Fig. 4)"
    table = ctx.fig4_stats.set_index("variable") if not ctx.fig4_stats.empty else None
    if table is None or not {"annotation_density", "train_sequences"} <= set(table.index):
        return Verdict(
            8, "multitask", claim, UNSURE, math.nan, "Pearson", 0, math.nan, "no Fig. 4 data", rests
        )
    density, size = table.loc["annotation_density"], table.loc["train_sequences"]
    n = int(density["n_tasks"])
    if n < MIN_TASKS or not (np.isfinite(density["p_value"]) and np.isfinite(size["p_value"])):
        verdict = UNSURE
    elif density["p_value"] < ctx.alpha and size["p_value"] >= ctx.alpha:
        verdict = HOLDS
    else:
        verdict = FAILS
    evidence = (
        f"density r = {density['pearson_r']:.3f} (r² {density['r_squared']:.3f}, p = "
        f"{density['p_value']:.3g}); training sequences r = {size['pearson_r']:.3f} (r² "
        f"{size['r_squared']:.3f}, p = {size['p_value']:.3g}); {n} tasks"
    )
    return Verdict(
        8,
        "multitask",
        claim,
        verdict,
        float(density["pearson_r"]),
        "Pearson r",
        n,
        float(density["p_value"]),
        evidence,
        rests,
    )


def _stl_task_means(store: pd.DataFrame, experiment: str, metric: str) -> pd.DataFrame:
    """Per task and ablation fraction: the test score at the best dev epoch, mean over seeds."""
    rows = store[
        (store["paper"] == "multitask")
        & (store["experiment"] == experiment)
        & store["final"]
        & (store["split"] == "test")
        & (store["metric"] == metric)
    ]
    return rows.groupby(["dataset", "ablation_fraction"])["value"].mean().unstack("ablation_fraction")


def claim9(ctx: Context) -> Verdict:
    claim = "Under data ablation STL degrades faster than MTL"
    stl = _stl_task_means(ctx.store, "stl", "word_f1")
    mtl = _stl_task_means(ctx.store, "mtl", "word_f1")
    fractions = sorted(set(stl.columns) & set(mtl.columns))
    rests = ctx.multitask_report + "/table4_stl_ablation.parquet, table5_mtl_ablation.parquet (Tables 4-5)"
    if len(fractions) < 2 or 0.0 not in fractions:
        return Verdict(
            9,
            "multitask",
            claim,
            UNSURE,
            math.nan,
            "paired t",
            0,
            math.nan,
            "STL and MTL share no ablated fraction beside 0",
            rests,
        )
    most = fractions[-1]
    drop = (stl[0.0] - stl[most]) - (mtl[0.0] - mtl[most])
    verdict = _directional(
        9,
        "multitask",
        claim,
        drop,
        ctx,
        f"STL drop - MTL drop in test word F1 from ablation 0 to {most:g}, per task",
        rests,
    )
    if verdict.n < MIN_TASKS and verdict.verdict != UNSURE:
        verdict.verdict = UNSURE
        verdict.evidence += f" (fewer than {MIN_TASKS} tasks: too few to judge)"
    return verdict


def claim10(ctx: Context) -> Verdict:
    claim = "Chemical tasks score highest and species lowest on average"
    stl = _stl_task_means(ctx.store, "stl", "word_f1")
    rests = ctx.multitask_report + "/table2_stl.parquet (Table 2)"
    if stl.empty or 0.0 not in stl.columns:
        return Verdict(
            10, "multitask", claim, UNSURE, math.nan, "ordering of means", 0, math.nan, "no STL runs", rests
        )
    scores = stl[0.0].dropna()
    by_type = scores.groupby(scores.index.map(entity_type_of)).mean().sort_values(ascending=False)
    text = ", ".join(f"{t} {v:.3f}" for t, v in by_type.items())
    if not {"chemical", "species"} <= set(by_type.index) or len(by_type) < 3 or by_type.nunique() < 2:
        verdict = UNSURE
    else:
        verdict = HOLDS if by_type.index[0] == "chemical" and by_type.index[-1] == "species" else FAILS
    effect = float(by_type.get("chemical", math.nan) - by_type.get("species", math.nan))
    return Verdict(
        10,
        "multitask",
        claim,
        verdict,
        effect,
        "ordering of entity-type means (no test)",
        len(scores),
        math.nan,
        f"STL test word F1 by entity type (macro over tasks): {text}",
        rests,
    )


def claim11(ctx: Context) -> Verdict:
    word = _stl_task_means(ctx.store, "stl", "word_f1")
    entity = _stl_task_means(ctx.store, "stl", "entity_f1")
    diff = word.get(0.0, pd.Series(dtype=float)) - entity.get(0.0, pd.Series(dtype=float))
    return _directional(
        11,
        "multitask",
        "Entity-level F1 is below word-level F1",
        diff,
        ctx,
        "STL test word F1 - entity F1, per task",
        ctx.multitask_report + "/table7_entity_level.parquet (Table 7)",
    )


CLAIMS: tuple[Callable[[Context], Verdict], ...] = (
    claim1,
    claim2,
    claim3,
    claim4,
    claim5,
    claim6,
    claim7,
    claim8,
    claim9,
    claim10,
    claim11,
)


def drop_untrained(store: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The store without scores of models that learned nothing, and per paper a note of what went."""
    notes: dict[str, str] = {}
    keep = pd.Series(True, index=store.index)
    mtaal = (store["paper"] == "mtaal") & store["metric"].str.endswith("_f1")
    zero = store[mtaal].groupby("metric")["value"].agg(lambda v: bool((v.fillna(0) == 0).all()))
    if zero.any():
        metrics = sorted(zero.index[zero])
        keep &= ~(mtaal & store["metric"].isin(metrics))
        notes["mtaal"] = f"left out {', '.join(metrics)}: 0 in every run at this tier (nothing tagged)"
    stl = store[(store["paper"] == "multitask") & (store["experiment"] == "stl") & store["final"]
                & (store["split"] == "test") & (store["metric"] == "word_f1")
                & (store["ablation_fraction"] == 0.0)]
    dead = sorted(stl.groupby("dataset")["value"].agg(lambda v: bool((v == 0).all())).loc[lambda d: d].index)
    if dead:
        keep &= ~((store["paper"] == "multitask") & store["dataset"].isin(dead))
        notes["multitask"] = (f"left out {len(dead)} task(s) whose STL test word F1 is 0 in every seed: "
                              f"{', '.join(dead)}")
    return store[keep], notes


def judge_claims(ctx: Context, tier: str) -> pd.DataFrame:
    store, notes = drop_untrained(ctx.store)
    ctx = replace(ctx, store=store)
    rows = []
    for claim in CLAIMS:
        verdict = claim(ctx)
        if verdict.paper in notes and verdict.claim_id not in JUDGED_ON_REPORT:
            verdict.evidence += f" [{notes[verdict.paper]}]"
        rows.append(asdict(verdict) | {"tier": tier})
    return pd.DataFrame(rows, columns=COLUMNS)


def claims_markdown(claims: pd.DataFrame) -> str:
    lines = [
        "# The papers' claims at this tier",
        "",
        "holds / does not hold / inconclusive, with the evidence and the table or figure it rests on "
        "(method: mtaal/results/claims.py).",
        "",
        "",
    ]
    view = claims.assign(
        p_value=claims["p_value"].map(lambda p: "" if pd.isna(p) else f"{p:.3g}"),
        effect=claims["effect"].map(lambda e: "" if pd.isna(e) else f"{e:+.4f}"),
    )[["claim_id", "paper", "claim", "verdict", "effect", "n", "p_value", "evidence", "rests_on", "tier"]]
    return "\n".join(lines) + view.to_markdown(index=False) + "\n"
