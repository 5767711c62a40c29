"""The papers' qualitative claims, each judged twice: on the runs of the tier that ran ("our runs") and on
the paper's own printed numbers (``config/reported/``, "the paper's own numbers").

The unit of every test is an independent replicate: (dataset, embedding, seed) for MTAAL (a printed cell
has no seed: (dataset, embedding)), a HUNER task for the multitask paper (seeds averaged within it
first). Strategies, metrics or tasks that share a run are averaged within the unit, never counted as extra
pairs; claim 2 ("best in every cell") tests each (cell, rival) pair on its own and combines the pairs as
an intersection-union test. Directional claims are one-sided tests in the claimed direction, "no
difference" claims (6, 7, the second half of 8) equivalence tests (TOST) against
``results.equivalence_margin`` / ``results.correlation_margin``; the tests are in
:mod:`mtaal.results.claim_tests`.

Verdicts, per basis: a claim with no data says so ("inconclusive: no runs ..." / "inconclusive: printed
data missing ..."), one whose test is undefined on its data says why ("inconclusive: degenerate: ...");
one whose design cannot reach p < alpha is "inconclusive: n too small (attainable p >= ...)", and so is
one that Holm leaves no chance: with 7 testable claims at 5 units each (floor 1/32) the smallest adjusted
p is 7/32, so none can hold ("n too small for Holm over 7 testable claims"). The rest are Holm-corrected
together (claims that cannot hold do not count, as in Tarone's refinement) and hold when the adjusted p
of the claim is < alpha, do not hold when the adjusted p of the opposite test is < alpha (its own Holm
family), and are inconclusive otherwise. Needs and the minimum detectable effect are evaluated at the
level the claim meets under Holm (``alpha_holm``), the latter for the exact test used
(:mod:`mtaal.results.claim_power`) and only where the claim can hold. Each verdict also carries a
rank-based test of the same claim, judged by the same rules (``rank_verdict``, ``rank_agrees``).

Scores of models that learned nothing are no evidence (a small tier can leave every F1 at 0, and zeros
on both sides would "show" equivalence): before judging our runs, :func:`drop_untrained` leaves out MTAAL
metrics that are 0 in every run and HUNER tasks whose single-task test F1 is 0 in every seed, and each
affected verdict says what was left out.

Layout: what each basis offers in :mod:`mtaal.results.claim_evidence`, the thirteen claims in
:mod:`mtaal.results.claim_catalogue`, the verdicts, the table and its markdown here.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from mtaal.io import write_parquet, write_text
from mtaal.results import claim_tests as T
from mtaal.results.claim_catalogue import MTAAL_CLAIMS, MULTITASK_CLAIMS, UNCERTAINTY, claim8
from mtaal.results.claim_evidence import (
    ALL_O_NEN,
    ENTITY_F1,
    PAPER,
    REPORTED_COLUMNS,
    RUNS,
    WORD_F1,
    Context,
    Evidence,
    all_o_nen_accuracy,
    drop_untrained,
    paper_evidence,
    runs_evidence,
    store_context,
)
from mtaal.results.compare import load_reported
from mtaal.results.store import read_store

# The claims' public names, wherever they are defined.
__all__ = [
    "ALL_O_NEN", "COLUMNS", "ENTITY_F1", "FAILS", "HOLDS", "NOT_CONTRADICTED", "PAPER", "REPORTED_COLUMNS",
    "RUNS", "UNCERTAINTY", "UNSURE", "WORD_F1", "ClaimsInputs", "Context", "Evidence", "HolmFamily",
    "claims_markdown", "drop_untrained", "judge_basis",
    "judge_claims", "outcome", "paper_evidence", "runs_evidence", "store_context", "write_claims",
]

HOLDS, FAILS, UNSURE = "holds", "does not hold", "inconclusive"
NOT_CONTRADICTED = "not contradicted"  # a rank test that can only speak against the claim, and did not
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
    "alpha_holm",
    "needs",
    "mde",
    "rank_test",
    "rank_p",
    "rank_p_holm",
    "rank_p_against",
    "rank_p_against_holm",
    "rank_verdict",
    "rank_agrees",
    "trivial_baseline",
    "evidence",
    "rests_on",
    "tier",
]
# Claims not judged on the store's F1 (5: query diversity; 8: Fig. 4's points, which the multitask report
# computes on every STL run): what drop_untrained left out does not concern them.
NOT_ON_STORE_F1 = {5, 8}


# -------------------------------------------------------------------------------- verdicts and the table


def _decide(p_holm: float, against_holm: float, alpha: float, can_hold: bool = True) -> str:
    if can_hold and p_holm < alpha:
        return HOLDS
    if np.isfinite(against_holm) and against_holm < alpha:
        return FAILS
    return UNSURE if can_hold else NOT_CONTRADICTED


def _agrees(verdict: str, rank_verdict: str) -> bool | None:
    """Whether the rank test reaches the verdict's outcome; one that can only speak against the claim
    agrees with "holds" and "inconclusive" when it finds nothing."""
    if not rank_verdict:
        return None
    if rank_verdict == NOT_CONTRADICTED:
        return outcome(verdict) != FAILS
    return outcome(verdict) == rank_verdict


class HolmFamily:
    """The claims of one basis that Holm judges together, with their adjusted p values."""

    def __init__(self, results: dict[int, T.Result], alpha: float):
        self.alpha = alpha
        self.candidates = {i: r.attainable_p for i, r in results.items() if r.testable(alpha)}
        self.levels = T.holm_levels(self.candidates, alpha)
        self.floor_holm = dict(zip(self.candidates, T.holm(list(self.candidates.values())), strict=True))
        members = [results[i] for i in self.levels]
        self.adjusted = {
            name: dict(zip(self.levels, T.holm([get(r) for r in members]), strict=True))
            for name, get in (("p", lambda r: r.p), ("against", lambda r: r.p_against),
                              ("rank", lambda r: r.rank.p), ("rank_against", lambda r: r.rank.p_against))
        }

    def level(self, i: int) -> float:
        """The level a claim's needs and detectable effect are judged at: its Holm threshold at best;
        alpha / (the testable claims) for one Holm leaves no chance; alpha for one not testable alone."""
        if i in self.levels:
            return self.levels[i]
        return self.alpha / len(self.candidates) if i in self.candidates else self.alpha

    def verdict(self, i: int, r: T.Result) -> str:
        if r.problem:
            return f"{UNSURE}: {r.problem}"
        if i not in self.candidates:
            return f"{UNSURE}: n too small (attainable p >= {r.attainable_p:.3g})"
        if i not in self.levels:
            return (f"{UNSURE}: n too small for Holm over {len(self.candidates)} testable claims "
                    f"(attainable adjusted p >= {self.floor_holm[i]:.3g})")
        return _decide(self.adjusted["p"][i], self.adjusted["against"][i], self.alpha)

    def rank_verdict(self, i: int, r: T.Result) -> str:
        if i not in self.levels or not np.isfinite(r.rank.p_against):
            return ""
        return _decide(self.adjusted["rank"][i], self.adjusted["rank_against"][i], self.alpha,
                       can_hold=np.isfinite(r.rank.p))

    def adjusted_p(self, name: str, i: int) -> float:
        return self.adjusted[name].get(i, math.nan)


def _result_columns(family: HolmFamily, i: int, r: T.Result, verdict: str) -> dict:
    level = family.level(i)
    rank_verdict = family.rank_verdict(i, r)
    return dict(
        effect_label=r.effect_label, effect=r.effect, effect_ci95_low=r.low, effect_ci95_high=r.high,
        test=r.test, n=r.n, p_value=r.p, p_holm=family.adjusted_p("p", i), p_against=r.p_against,
        p_against_holm=family.adjusted_p("against", i), attainable_p=r.attainable_p, alpha_holm=level,
        needs=r.needs(level), mde=r.mde(level) if i in family.levels else math.nan,
        rank_test=r.rank.test, rank_p=r.rank.p, rank_p_holm=family.adjusted_p("rank", i),
        rank_p_against=r.rank.p_against, rank_p_against_holm=family.adjusted_p("rank_against", i),
        rank_verdict=rank_verdict, rank_agrees=_agrees(verdict, rank_verdict),
    )


EMPTY_RESULT = dict(
    effect_label="", effect=math.nan, effect_ci95_low=math.nan, effect_ci95_high=math.nan, test="", n=0,
    p_value=math.nan, p_holm=math.nan, p_against=math.nan, p_against_holm=math.nan, attainable_p=math.nan,
    alpha_holm=math.nan, needs="", mde=math.nan, rank_test="", rank_p=math.nan, rank_p_holm=math.nan,
    rank_p_against=math.nan, rank_p_against_holm=math.nan, rank_verdict="", rank_agrees=None,
)


def judge_basis(ev: Evidence, alpha: float, margin: float, correlation_margin: float,
                report: str = "results/multitask/<encoder>/report",
                claim_ids: Collection[int] | None = None) -> list[dict]:
    """Every claim on one basis (``claim_ids``: only these, e.g. a record's; None: all), Holm-corrected over
    the claims judged that can still hold; one row dict per claim."""
    verdicts = [claim(ev, margin) for claim in MTAAL_CLAIMS]
    verdicts += [claim(ev, correlation_margin if claim is claim8 else margin, report)
                 for claim in MULTITASK_CLAIMS]
    if claim_ids is not None:
        verdicts = [v for v in verdicts if v.claim_id in set(claim_ids)]
    family = HolmFamily({i: v.result for i, v in enumerate(verdicts) if v.result is not None}, alpha)
    rows = []
    for i, v in enumerate(verdicts):
        verdict = f"{UNSURE}: {v.missing}" if v.result is None else family.verdict(i, v.result)
        evidence = v.evidence
        if ev.basis == RUNS and v.paper in ev.notes and v.claim_id not in NOT_ON_STORE_F1:
            evidence += f" [{ev.notes[v.paper]}]"
        numbers = EMPTY_RESULT if v.result is None else _result_columns(family, i, v.result, verdict)
        rows.append(dict(claim_id=v.claim_id, paper=v.paper, claim=v.claim, basis=ev.basis, verdict=verdict,
                         **numbers, trivial_baseline=v.trivial_baseline, evidence=evidence,
                         rests_on=v.rests_on))
    return rows


def judge_claims(ctx: Context, reported: pd.DataFrame, tier: str,
                 claim_ids: Collection[int] | None = None) -> pd.DataFrame:
    """The claims table: each claim (``claim_ids``: only these) on our runs and on the paper's own
    numbers (``reported``: the ``config/reported`` rows as a DataFrame)."""
    rows = []
    all_o = all_o_nen_accuracy(ctx.store, ctx.report_after_round)
    for ev in (runs_evidence(ctx), paper_evidence(reported, all_o, ctx.store, ctx.registry_types)):
        rows += judge_basis(ev, ctx.alpha, ctx.margin, ctx.correlation_margin, ctx.multitask_report,
                            claim_ids)
    # Rows come basis by basis; a stable sort on the claim puts each claim's two rows together.
    table = pd.DataFrame(rows, columns=COLUMNS).assign(
        tier=tier, rank_agrees=lambda t: t["rank_agrees"].astype("boolean"))
    return table.sort_values("claim_id", kind="stable")[COLUMNS].reset_index(drop=True)


def outcome(verdict: str) -> str:
    """holds / does not hold / inconclusive, without the reason after the colon."""
    return verdict.split(":", 1)[0]


def _num(value: float, digits: str = ".3g") -> str:
    return "" if pd.isna(value) else ("inf" if value == math.inf else f"{value:{digits}}")


def _rank_note(row: pd.Series) -> str:
    """The summary's word on a rank test that reaches another outcome."""
    if row["rank_agrees"] is pd.NA or row["rank_agrees"]:
        return ""
    return f" (a rank test disagrees: {row['rank_verdict']}, {row['rank_test']})"


def _rank_cell(row: pd.Series) -> str:
    if not row["rank_test"]:
        return ""
    ps = [f"{name} {_num(p)}" + (f" (Holm {_num(adjusted)})" if pd.notna(adjusted) else "")
          for name, p, adjusted in (("p", row["rank_p"], row["rank_p_holm"]),
                                    ("p against", row["rank_p_against"], row["rank_p_against_holm"]))
          if pd.notna(p)]
    agrees = {True: "agrees", False: "disagrees"}.get(row["rank_agrees"], "")
    return "; ".join([row["rank_test"], *ps, *(x for x in (row["rank_verdict"], agrees) if x)])


def claims_markdown(claims: pd.DataFrame) -> str:
    if claims.empty:
        return ("# The papers' claims at this tier\n\n"
                "No claim is judged here (the record's `claims` is empty).\n")
    caveat = claims["trivial_baseline"].map(
        lambda b: f" (NEN is token accuracy; all-O scores {b.split('token O scores ', 1)[-1]})" if b else "")
    detectable = [f" (smallest {'margin' if test.startswith('TOST') else 'effect'} detectable at power "
                  f"0.8: {m:.3g})" if v == UNSURE and np.isfinite(m) else ""
                  for v, m, test in zip(claims["verdict"], claims["mde"], claims["test"], strict=True)]
    shown = claims["verdict"] + detectable + claims.apply(_rank_note, axis=1) + caveat
    wide = (claims.assign(verdict=shown)
            .pivot(index=["claim_id", "paper", "claim"], columns="basis", values="verdict").reset_index())
    summary = wide.rename(columns={RUNS: "on our runs", PAPER: "on the paper's own numbers"})
    summary = summary.reindex(
        columns=["claim_id", "paper", "claim", "on our runs", "on the paper's own numbers"])
    lines = [
        "# The papers' claims at this tier",
        "",
        "Each claim judged on this tier's runs and on the paper's own printed numbers (config/reported/). "
        "Rules: docs/claims.md; method: mtaal/results/claims.py.",
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
            "level (Holm)": rows["alpha_holm"].map(_num),
            "needs": rows["needs"],
            "MDE (power 0.8)": rows["mde"].map(_num),
            "test": rows["test"],
            "rank test": rows.apply(_rank_cell, axis=1),
            "evidence": [e + (f" — {b}" if b else "") for e, b in
                         zip(rows["evidence"], rows["trivial_baseline"], strict=True)],
            "rests on": rows["rests_on"],
        })
        lines += ["", f"## On {basis}", "", view.to_markdown(index=False)]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ClaimsInputs:
    """What the claims are judged on: the results store (its folder or its paper partitions), the corpus
    statistics and ``encoder``'s WordPiece sequence table that the multitask report reads beside it, the
    papers' printed numbers (``reported``), ``settings`` (``report_after_round`` of config mtaal;
    ``alpha``, ``margin``, ``correlation_margin`` of config results), the config's corpus registry's entity
    types (:meth:`~mtaal.corpora.registry.Registry.entity_types`), the tier, and where the multitask
    report shows the same numbers (``multitask_report``, named in ``rests_on``)."""

    store: Path | Sequence[Path]
    corpus_stats: Path
    sequences: Path
    encoder: str
    reported: Sequence[Path]
    settings: Mapping
    registry_types: Mapping[str, str]
    tier: str
    multitask_report: str = "results/multitask/<encoder>/report"

    @classmethod
    def from_config(cls, config: Mapping, results: Path, registry_types: Mapping[str, str],
                    reported: Sequence[Path | str], store: Path | Sequence[Path | str] | None = None
                    ) -> ClaimsInputs:
        """The inputs a config names under the results folder ``results`` (the rule results_claims and
        ``mtaal claims`` alike); ``store``: its paper partitions (default: the whole store folder)."""
        results = Path(results)
        encoder, settings = config["multitask"]["encoder"], config["results"]
        return cls(
            store=results / "store" if store is None
            else Path(store) if isinstance(store, (str, Path)) else [Path(p) for p in store],
            corpus_stats=results / "tables" / "corpus_stats.parquet",
            sequences=results / "tables" / f"wordpiece_{encoder}.parquet",
            encoder=encoder,
            reported=[Path(p) for p in reported],
            settings={"report_after_round": config["mtaal"]["report_after_round"], "alpha": settings["alpha"],
                      "margin": settings["equivalence_margin"],
                      "correlation_margin": settings["correlation_margin"]},
            registry_types=registry_types,
            tier=config["tier"],
            multitask_report=str(results / "multitask" / encoder / "report"),
        )


def write_claims(inputs: ClaimsInputs, parquet: Path, markdown: Path) -> pd.DataFrame:
    """Judge the claims on the results store (MTAAL's Table 4 and the Fig. 4 points computed from it as
    :func:`store_context` says, with the corpus statistics and the WordPiece sequence table that the
    multitask report reads: :class:`ClaimsInputs`); write the table (parquet) and its markdown."""
    context = store_context(read_store(inputs.store), pd.read_parquet(inputs.corpus_stats),
                            pd.read_parquet(inputs.sequences), inputs.encoder, inputs.settings,
                            inputs.registry_types, str(inputs.multitask_report))
    claims = judge_claims(context, load_reported([Path(p) for p in inputs.reported]), inputs.tier)
    write_parquet(pa.Table.from_pandas(claims, preserve_index=False), parquet)
    write_text(claims_markdown(claims), markdown)
    return claims
