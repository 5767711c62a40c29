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

Layout: what each basis offers in :mod:`mtaal.results.claim_evidence`, the eleven claims in
:mod:`mtaal.results.claim_catalogue`, the verdicts, the table and its markdown here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
    "ALL_O_NEN", "COLUMNS", "ENTITY_F1", "FAILS", "HOLDS", "PAPER", "REPORTED_COLUMNS", "RUNS", "UNCERTAINTY",
    "UNSURE", "WORD_F1", "Context", "Evidence", "claims_markdown", "drop_untrained", "judge_basis",
    "judge_claims", "outcome", "paper_evidence", "runs_evidence", "store_context", "write_claims",
]

HOLDS, FAILS, UNSURE = "holds", "does not hold", "inconclusive"
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
# Claims not judged on the store's F1 (5: query diversity; 8: Fig. 4's points, which the multitask report
# computes on every STL run): what drop_untrained left out does not concern them.
NOT_ON_STORE_F1 = {5, 8}


# -------------------------------------------------------------------------------- verdicts and the table


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
    for ev in (runs_evidence(ctx), paper_evidence(reported, all_o, ctx.store, ctx.registry_types)):
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


def write_claims(store_dir: Path | Sequence[Path], corpus_stats: Path, sequences: Path, encoder: str,
                 reported: Sequence[Path], settings: Mapping, registry_types: Mapping[str, str], tier: str,
                 parquet: Path, markdown: Path, multitask_report: str = "results/multitask/<encoder>/report"
                 ) -> pd.DataFrame:
    """Judge the claims on the results store (MTAAL's Table 4 and the Fig. 4 points computed from it as
    :func:`store_context` says, with the corpus statistics and ``encoder``'s WordPiece sequence table that
    the multitask report reads); write the table (parquet) and its markdown. ``settings``:
    ``report_after_round`` (config mtaal) and ``alpha``, ``margin``, ``correlation_margin`` (config
    results); ``registry_types``: the config's corpus registry's entity types
    (:meth:`~mtaal.corpora.registry.Registry.entity_types`); ``multitask_report``: where the report shows
    the same numbers (named in ``rests_on``)."""
    context = store_context(read_store(store_dir), pd.read_parquet(corpus_stats), pd.read_parquet(sequences),
                            encoder, settings, registry_types, str(multitask_report))
    claims = judge_claims(context, load_reported([Path(p) for p in reported]), tier)
    write_parquet(pa.Table.from_pandas(claims, preserve_index=False), parquet)
    write_text(claims_markdown(claims), markdown)
    return claims
