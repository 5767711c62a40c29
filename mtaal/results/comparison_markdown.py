"""The comparison as a reader takes it in: one markdown page per paper (each printed table in its printed
layout, then cell by cell, and what this tier did not reproduce, by reason), and the comparison written
(parquet and pages). What each cell is: :mod:`mtaal.results.compare`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from mtaal.io import write_parquet, write_text
from mtaal.results.compare import (
    COMPARED,
    COUNT_METRICS,
    DIVERSITY_STATISTICS,
    NOT_COMPARED,
    REFERENCE,
    Reproduction,
    compare,
)


def _digits(metric: str) -> int:
    if metric in (*COUNT_METRICS, "best_epoch"):
        return 0
    return 1 if metric in DIVERSITY_STATISTICS else 3


def _number(value: float, digits: int = 3) -> str:
    return "" if pd.isna(value) else f"{value:.{digits}f}"


def _partial(units) -> str:
    """`` (1 of 2 tasks)`` for a group average over fewer tasks than the printed one averages, else ""."""
    if not isinstance(units, str) or " of " not in units:
        return ""
    have, _, rest = units.partition(" of ")
    return f" ({units})" if have.strip() != rest.split()[0] else ""


def _ours(row) -> str:
    if row.status != COMPARED:
        return ""
    digits = _digits(row.metric)
    if row.metric in COUNT_METRICS:
        return _number(row.mean, digits)
    text = _number(row.mean, digits)
    if row.n > 1 and pd.notna(row.std):
        text += f" ± {_number(row.std, max(digits, 1))}"
    return text + f" (n={int(row.n)})" + _partial(getattr(row, "units", ""))


def reason_kind(reason: str) -> str:
    """``corpus missing: x`` / ``not run at this tier (x)`` -> the part before the detail."""
    return reason.split(":")[0].split(" (")[0]


def not_compared_summary(comparison: pd.DataFrame) -> pd.DataFrame:
    """Printed cells this tier did not reproduce, counted per paper, reason kind and details (which
    corpus, which ablation amount, ...), with the tables they are in: a reason shared by several tables
    is one row."""
    rows = comparison[comparison["status"] != COMPARED]
    kinds = rows["reason"].map(reason_kind)
    details = [r[len(k):].strip(" :()") for r, k in zip(rows["reason"], kinds, strict=True)]
    rows = rows.assign(kind=kinds, detail=details)

    def listing(values: pd.Series) -> str:
        distinct = sorted(set(values) - {""})
        return ", ".join(distinct[:8]) + (f", ... ({len(distinct)} in all)" if len(distinct) > 8 else "")

    per_table = rows.groupby(["paper", "kind", "table"], sort=False).agg(
        cells=("reason", "size"), details=("detail", listing)
    ).reset_index().sort_values(["paper", "kind", "table"])
    summary = per_table.groupby(["paper", "kind", "details"], sort=False).agg(
        tables=("table", ", ".join), cells=("cells", "sum")
    )
    return summary.reset_index()[["paper", "kind", "tables", "cells", "details"]]


def layout_markdown(comparison: pd.DataFrame, paper: str, table: str) -> str:
    """One printed table in its printed layout, each cell ``ours / printed`` (a third party's: ``ref x``)."""
    rows = comparison[(comparison["paper"] == paper) & (comparison["table"] == table)]
    cells = rows.assign(
        cell=[
            (f"ref {p}" if s == REFERENCE
             else f"{_number(m, _digits(metric)) if s == COMPARED else '–'}{_partial(u)} / {p}")
            + ("" if st == "value" else f" ({st})")
            for m, s, p, st, metric, u in zip(
                rows["mean"], rows["status"], rows["printed"], rows["statistic"], rows["metric"],
                rows["units"] if "units" in rows else [""] * len(rows), strict=True
            )
        ]
    )
    cells = cells.groupby(["row", "column"], sort=False)["cell"].agg(" ; ".join).reset_index()
    view = cells.pivot(index="row", columns="column", values="cell")
    view = view.reindex(index=list(dict.fromkeys(rows["row"])), columns=list(dict.fromkeys(rows["column"])))
    return view.fillna("").reset_index().to_markdown(index=False)


def comparison_markdown(comparison: pd.DataFrame, paper: str, title: str) -> str:
    rows = comparison[comparison["paper"] == paper]
    tiers = ", ".join(sorted(rows["tier"].unique())) or "none"
    counts = rows["status"].value_counts()
    lines = [
        f"# {title}: printed vs ours",
        "",
        f"Tier: {tiers}. {len(rows)} printed cells: {counts.get(COMPARED, 0)} compared with our runs "
        "(whether they agree: the judgement), "
        f"{counts.get(NOT_COMPARED, 0)} not compared (reason given), {counts.get(REFERENCE, 0)} "
        "third-party reference values. Ours: mean ± std over seeds (n). 95% PI: where a single run "
        "(like the printed one) should fall, mean ± t·s·sqrt(1 + 1/n). Beside the printed metric: our "
        "stricter metric (second) and what a model that tags every token O scores (all-O).",
    ]
    reasons = _shared_reasons(rows["reason"])
    summary = not_compared_summary(rows)
    if not summary.empty:
        by_reason = summary.drop(columns="paper").to_markdown(index=False)
        lines += ["", "## Not compared, by reason", "", by_reason]
    for table in dict.fromkeys(rows["table"]):
        part = rows[rows["table"] == table]
        view = pd.DataFrame({
            "row": part["row"],
            "column": part["column"]
            + np.where(part["statistic"] == "value", "", " (" + part["statistic"] + ")"),
            "metric": part["metric"],
            "printed": part["printed"],
            "ours": [_ours(r) for r in part.itertuples()],
            "95% PI": [f"[{_number(lo)}, {_number(hi)}]" if pd.notna(lo) else ""
                       for lo, hi in zip(part["pi95_low"], part["pi95_high"], strict=True)],
            "judgement": part["judgement"],
            "second": [f"{m}: {_number(v, _digits(metric))}" if m and pd.notna(v) else ""
                       for m, v, metric in zip(part["second_metric"], part["second_mean"], part["metric"],
                                               strict=True)],
            "all-O": part["all_o"].map(_number),
            "status": [f"{st}: {_reason_ref(r, reasons)}" if r else st
                       for st, r in zip(part["status"], part["reason"], strict=True)],
        })
        lines += ["", f"## {table}", "", "Printed layout, ours / printed:", "",
                  layout_markdown(rows, paper, table), "", "Cell by cell:", "", view.to_markdown(index=False)]
    if reasons:
        lines += ["", "## Reasons", ""] + [f"{k}. {reason}" for reason, k in reasons.items()]
    return "\n".join(lines) + "\n"


def _reason_ref(reason: str, reasons: dict[str, int]) -> str:
    """A short reason in place; a long or repeated one said once, under "Reasons", and referred to here."""
    return f"see reason {reasons[reason]}" if reason in reasons else reason


def _shared_reasons(reasons: pd.Series) -> dict[str, int]:
    """The reasons worth saying once: given to several cells or longer than a line. Numbered in order."""
    counts = reasons[reasons != ""].value_counts()
    shared = [r for r in dict.fromkeys(reasons) if r and (counts[r] > 1 or len(r) > 80)]
    return {reason: k for k, reason in enumerate(shared, start=1)}


def write_comparison(reproduction: Reproduction, reported: pd.DataFrame, tier: str, parquet: Path,
                     mtaal_md: Path, multitask_md: Path) -> pd.DataFrame:
    """The comparison table (parquet) and one markdown page per paper, each written atomically."""
    table = compare(reported, reproduction, tier)
    write_parquet(pa.Table.from_pandas(table, preserve_index=False), parquet)
    write_text(comparison_markdown(table, "mtaal", "MTAAL (Zhou et al. 2021)"), mtaal_md)
    write_text(comparison_markdown(table, "multitask", "Multitask NER (Rodriguez et al. 2022)"), multitask_md)
    return table
