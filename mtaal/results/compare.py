"""Reported vs reproduced: the papers' numbers (CSV in ``config/reported/``) beside our runs' cells.

A reproduced cell is one table cell of a paper, computed from the results store over seeds: mean, sample
std, n and a 95% t interval. A reported row names the same cell (paper, dataset, setting, model,
ablation fraction, metric) and gives the paper's value on a 0-1 scale, with its source (table or figure,
row, column). Reported rows whose ``value`` is empty stand for cells not transcribed yet: they still
join, so the comparison shows which cells await a number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from mtaal.active.report import at_report_round
from mtaal.errors import MtaalError

REPORTED_COLUMNS = [
    "paper",
    "source",
    "row",
    "column",
    "dataset",
    "setting",
    "model",
    "ablation_fraction",
    "metric",
    "value",
    "note",
]
KEYS = ["paper", "dataset", "setting", "model", "ablation_fraction", "metric"]
CELL_COLUMNS = [
    "paper",
    "source",
    "dataset",
    "setting",
    "model",
    "ablation_fraction",
    "metric",
    "n_seeds",
    "mean",
    "std",
    "ci95_low",
    "ci95_high",
]
COMPARISON_COLUMNS = [*CELL_COLUMNS, "reported", "reported_source", "delta", "tier"]
MTAAL_TABLE_METRICS = (
    "ner_f1",
    "nen_f1",
    "release_ner_f1_batch_mean",
    "release_nen_token_accuracy_batch_mean",
)
SCORE_SUFFIXES = ("f1", "precision", "recall", "accuracy", "batch_mean")
MULTITASK_SOURCES = {
    ("stl", "word"): "Table 2 (STL); Table 4 (STL data ablation)",
    ("mtl", "word"): "Table 3 (MTL); Table 5 (MTL data ablation)",
    ("finetune", "word"): "Table 6 (fine-tuned from entity-ablated MTL)",
    ("mtl_without", "word"): "Fig. 5 (entity-ablated MTL)",
}


def ci95(mean: float, std: float, n: int) -> tuple[float, float]:
    """Two-sided 95% t interval of a mean over ``n`` seeds; NaN below two seeds."""
    if n < 2 or not np.isfinite(std):
        return math.nan, math.nan
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return mean - half, mean + half


def summarise_cells(values: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per-seed ``value`` rows -> mean, std (ddof 1), n_seeds and 95% CI per ``keys``."""
    grouped = values.groupby(keys, dropna=False)["value"]
    cells = grouped.agg(mean="mean", std="std", n_seeds="count").reset_index()
    bounds = [ci95(m, s, n) for m, s, n in zip(cells["mean"], cells["std"], cells["n_seeds"], strict=True)]
    cells["ci95_low"] = [low for low, _ in bounds]
    cells["ci95_high"] = [high for _, high in bounds]
    return cells


def mtaal_report_rounds(store: pd.DataFrame, report_after_round: Mapping[str, int]) -> pd.DataFrame:
    """MTAAL curve rows at the round a paper table reports (N queries; a shorter run: its last round)."""
    curves = store[(store["paper"] == "mtaal") & (store["experiment"] == "curves")]
    return at_report_round(curves, report_after_round, round_column="step", run_columns=["run_id"])


def reproduced_cells(
    store: pd.DataFrame, report_after_round: Mapping[str, int], diversity: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every paper-table cell the store holds, summarised over seeds."""
    parts = []
    mtaal = mtaal_report_rounds(store, report_after_round)
    mtaal = mtaal[mtaal["metric"].isin(MTAAL_TABLE_METRICS)].assign(source="Tables 2-3 (F1 after N queries)")
    parts.append(mtaal)
    multitask = store[(store["paper"] == "multitask") & store["final"] & (store["split"] == "test")].copy()
    if not multitask.empty:
        level = np.where(multitask["metric"].str.startswith("entity_"), "entity", "word")
        multitask["source"] = [
            "Table 7 (entity level)" if lvl == "entity" else MULTITASK_SOURCES[(exp, lvl)]
            for exp, lvl in zip(multitask["experiment"], level, strict=True)
        ]
        parts.append(multitask)
    rows = pd.concat(parts, ignore_index=True)
    cells = summarise_cells(
        rows, ["paper", "source", "dataset", "setting", "model", "ablation_fraction", "metric"]
    )
    if diversity is not None and not diversity.empty:
        table4 = diversity.rename(
            columns={"variant": "setting", "statistic": "metric", "n_repeats": "n_seeds"}
        )
        table4 = table4.assign(
            paper="mtaal", source="Table 4 (query diversity)", model=None, ablation_fraction=0.0
        )
        bounds = [
            ci95(m, s, n) for m, s, n in zip(table4["mean"], table4["std"], table4["n_seeds"], strict=True)
        ]
        table4["ci95_low"] = [low for low, _ in bounds]
        table4["ci95_high"] = [high for _, high in bounds]
        cells = pd.concat([cells, table4[CELL_COLUMNS]], ignore_index=True)
    return cells[CELL_COLUMNS]


def load_reported(paths: list[Path]) -> pd.DataFrame:
    """The papers' numbers; a malformed file stops with its name, line and the expected form."""
    frames = []
    for path in paths:
        frame = pd.read_csv(path, dtype={"value": "float64", "ablation_fraction": "float64"})
        missing = [c for c in REPORTED_COLUMNS if c not in frame.columns]
        if missing:
            raise MtaalError(
                f"{path}: missing columns {missing}; expected header {','.join(REPORTED_COLUMNS)}"
            )
        for line, row in zip(range(2, len(frame) + 2), frame.itertuples(), strict=True):
            score = str(row.metric).endswith(SCORE_SUFFIXES)
            if pd.notna(row.value) and (row.value < 0 or (score and row.value > 1)):
                raise MtaalError(
                    f"{path}:{line}: value {row.value!r} for {row.metric}: expected "
                    + ("a fraction in [0, 1] (divide percentages by 100)" if score else "a count >= 0")
                )
            if pd.isna(row.paper) or pd.isna(row.metric) or pd.isna(row.source):
                raise MtaalError(f"{path}:{line}: paper, source and metric are required")
        frames.append(frame[REPORTED_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=REPORTED_COLUMNS)
    reported = pd.concat(frames, ignore_index=True)
    reported["ablation_fraction"] = reported["ablation_fraction"].fillna(0.0)
    duplicated = reported.duplicated(KEYS, keep=False)
    if duplicated.any():
        raise MtaalError(
            f"reported numbers name one cell twice: {reported[duplicated][KEYS].to_dict('records')[:3]}"
        )
    return reported


def compare(cells: pd.DataFrame, reported: pd.DataFrame, tier: str) -> pd.DataFrame:
    """Reproduced cells left-joined with reported ones; a reported row without ``model`` matches any
    model (the multitask paper's BioBERT beside whichever encoder ran here)."""
    out = cells.copy()
    out["reported"] = math.nan
    out["reported_source"] = None
    for row in reported.itertuples():
        match = (
            (out["paper"] == row.paper)
            & (out["dataset"] == row.dataset)
            & (out["setting"] == row.setting)
            & (out["metric"] == row.metric)
            & np.isclose(out["ablation_fraction"].astype(float), row.ablation_fraction)
        )
        if pd.notna(row.model):
            match &= out["model"] == row.model
        out.loc[match, "reported"] = row.value
        out.loc[match, "reported_source"] = f"{row.source}, row {row.row}, column {row.column}"
    out["delta"] = out["mean"] - out["reported"]
    out["tier"] = tier
    return (
        out[COMPARISON_COLUMNS]
        .sort_values(["paper", "source", "dataset", "setting", "metric", "model", "ablation_fraction"])
        .reset_index(drop=True)
    )


def _number(value: float, digits: int = 3) -> str:
    return "" if pd.isna(value) else f"{value:.{digits}f}"


def comparison_markdown(comparison: pd.DataFrame, paper: str, title: str) -> str:
    rows = comparison[comparison["paper"] == paper]
    lines = [f"# {title}: reported vs reproduced", ""]
    tiers = ", ".join(sorted(rows["tier"].unique())) or "none"
    transcribed = int(rows["reported"].notna().sum())
    lines.append(
        f"Tier: {tiers}. Reproduced: mean, std and 95% t interval over seeds. "
        f"{transcribed} of {len(rows)} cells have a transcribed reported value "
        "(config/reported/*.csv); delta = reproduced mean - reported."
    )
    for source, table in rows.groupby("source", sort=True):
        view = pd.DataFrame(
            {
                "dataset": table["dataset"],
                "setting": table["setting"],
                "model": table["model"].fillna(""),
                "ablation": table["ablation_fraction"].map(lambda x: f"{x:g}"),
                "metric": table["metric"],
                "n": table["n_seeds"].astype(int),
                "mean": table["mean"].map(_number),
                "std": table["std"].map(_number),
                "95% CI": [
                    f"[{_number(lo)}, {_number(hi)}]" if pd.notna(lo) else ""
                    for lo, hi in zip(table["ci95_low"], table["ci95_high"], strict=True)
                ],
                "reported": table["reported"].map(_number),
                "delta": table["delta"].map(_number),
            }
        )
        lines += ["", f"## {source}", "", view.to_markdown(index=False)]
    return "\n".join(lines) + "\n"
