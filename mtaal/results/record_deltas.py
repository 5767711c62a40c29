"""What a multitask record judges: differences within each model (ours a - b per task, beside the paper's
printed a - b), their sign agreement and rank correlation over tasks, as tables, markdown and a figure.
:mod:`mtaal.results.record_multitask` rebuilds a record with them."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mtaal.results import compare as C
from mtaal.stats import spearman

PAPER = "multitask"
WORD_IO, WORD_STRICT, ENTITY_STRICT = "word_io_f1", "word_f1", "entity_f1"
# Printed deltas have three decimals: a difference under half of the last digit has no sign at that precision.
NO_SIGN = 0.0005


@dataclass(frozen=True)
class Delta:
    """One relative comparison: ours a - b beside the paper's printed a - b. a / b: (experiment, fraction)
    of our runs; paper_a / paper_b: (table, setting, fraction) of the printed cells."""

    name: str
    label: str
    a: tuple[str, float]
    b: tuple[str, float]
    paper_a: tuple[str, str, float]
    paper_b: tuple[str, str, float]


def deltas_for(fractions: Sequence[float]) -> list[Delta]:
    """MTL - STL at 0 (Table 3); per fraction f above 0 the drop from 0 to f of STL (Table 4) and MTL
    (Table 5); fine-tuned - STL at 0 (Table 6 and its STL column) and at each f (Table 6 and Table 4)."""
    out = [
        Delta(
            "mtl_minus_stl",
            "MTL - STL (ablation 0)",
            ("mtl", 0.0),
            ("stl", 0.0),
            ("Table 3", "mtl", 0.0),
            ("Table 3", "stl", 0.0),
        )
    ]
    above = [float(f) for f in fractions if float(f) > 0]
    for f in above:
        out += [
            Delta(
                f"stl_drop_{f:g}",
                f"STL drop, ablation 0 - {f:g}",
                ("stl", 0.0),
                ("stl", f),
                ("Table 4", "stl", 0.0),
                ("Table 4", "stl", f),
            ),
            Delta(
                f"mtl_drop_{f:g}",
                f"MTL drop, ablation 0 - {f:g}",
                ("mtl", 0.0),
                ("mtl", f),
                ("Table 5", "mtl", 0.0),
                ("Table 5", "mtl", f),
            ),
        ]
    out.append(
        Delta(
            "finetune_minus_stl_0",
            "fine-tuned - STL (ablation 0)",
            ("finetune", 0.0),
            ("stl", 0.0),
            ("Table 6", "finetune", 0.0),
            ("Table 6", "stl", 0.0),
        )
    )
    out += [
        Delta(
            f"finetune_minus_stl_{f:g}",
            f"fine-tuned - STL (ablation {f:g})",
            ("finetune", f),
            ("stl", f),
            ("Table 6", "finetune", f),
            ("Table 4", "stl", f),
        )
        for f in above
    ]
    return out


def _our_scores(store: pd.DataFrame) -> pd.DataFrame:
    """Per experiment, fraction and task: the test scores at the reported epoch, mean over seeds (an MTL
    run's tasks are the tasks of group ``all``)."""
    rows = store[
        (store["paper"] == PAPER)
        & store["final"].astype(bool)
        & (store["split"] == "test")
        & store["metric"].isin([WORD_IO, WORD_STRICT, ENTITY_STRICT])
    ]
    rows = rows[(rows["experiment"] != "mtl") | (rows["setting"] == "mtl/all")]
    if rows.empty:
        return pd.DataFrame(
            columns=["experiment", "fraction", "task", WORD_IO, WORD_STRICT, ENTITY_STRICT, "n_seeds"]
        )
    rows = rows.assign(fraction=rows["ablation_fraction"].astype(float).round(6))
    wide = rows.pivot_table(
        index=["experiment", "fraction", "dataset", "seed"], columns="metric", values="value"
    ).reset_index()
    means = (
        wide.groupby(["experiment", "fraction", "dataset"])
        .agg(
            **{m: (m, "mean") for m in (WORD_IO, WORD_STRICT, ENTITY_STRICT) if m in wide.columns},
            n_seeds=("seed", "nunique"),
        )
        .reset_index()
    )
    return means.rename(columns={"dataset": "task"})


def _printed(reported: pd.DataFrame) -> pd.Series:
    """Printed test word_io_f1 per (table, setting, fraction, task)."""
    rows = reported[
        (reported["paper"] == PAPER)
        & (reported["metric"] == WORD_IO)
        & (reported["split"] == "test")
        & (reported["system"] == C.PAPER_SYSTEM)
        & ~reported["dataset"].astype(str).str.startswith(C.GROUP_PREFIX)
    ]
    fraction = rows["ablation_fraction"].astype(float).fillna(0.0).round(6)
    return rows.assign(fraction=fraction).groupby(["table", "setting", "fraction", "dataset"])["value"].mean()


def delta_table(
    store: pd.DataFrame,
    reported: pd.DataFrame,
    tasks: Sequence[str],
    fractions: Sequence[float],
    entity_types: Mapping[str, str],
    finetuned: Sequence[str] | None = None,
    experiments: Collection[str] | None = None,
) -> pd.DataFrame:
    """One row per (delta, task): ours (word IO; strict word and entity beside it), the paper's printed
    delta, their parts, whether the signs agree. ``finetuned``: the tasks the fine-tuning deltas are
    planned for (None: every task); ``experiments``: the experiments the record plans (None: all), a delta
    with a side outside them is left out (never "not yet run")."""
    ours = _our_scores(store).set_index(["experiment", "fraction", "task"])
    printed = _printed(reported)
    rows = []
    for delta in deltas_for(fractions):
        if experiments is not None and not {delta.a[0], delta.b[0]} <= set(experiments):
            continue
        for task in tasks:
            if delta.a[0] == "finetune" and finetuned is not None and task not in finetuned:
                continue
            a, b = (delta.a[0], round(delta.a[1], 6), task), (delta.b[0], round(delta.b[1], 6), task)
            pa_, pb = (
                (*delta.paper_a[:2], round(delta.paper_a[2], 6), task),
                (*delta.paper_b[:2], round(delta.paper_b[2], 6), task),
            )
            have = a in ours.index and b in ours.index
            paper_a, paper_b = printed.get(pa_, math.nan), printed.get(pb, math.nan)

            diff = {
                m: float(ours.at[a, m] - ours.at[b, m]) if have and m in ours.columns else math.nan
                for m in (WORD_IO, WORD_STRICT, ENTITY_STRICT)
            }
            row = {
                "delta": delta.name,
                "label": delta.label,
                "task": task,
                "entity_type": entity_types.get(task, ""),
                "ours": diff[WORD_IO],
                "ours_word_strict": diff[WORD_STRICT],
                "ours_entity_strict": diff[ENTITY_STRICT],
                "paper": paper_a - paper_b,
                "ours_a": ours.at[a, WORD_IO] if have else math.nan,
                "ours_b": ours.at[b, WORD_IO] if have else math.nan,
                "paper_a": paper_a,
                "paper_b": paper_b,
                "n_seeds": int(min(ours.at[a, "n_seeds"], ours.at[b, "n_seeds"])) if have else 0,
                "paper_source": f"{delta.paper_a[0]} - {delta.paper_b[0]}",
            }
            both = not (math.isnan(row["ours"]) or math.isnan(row["paper"]))
            signed = both and min(abs(row["ours"]), abs(row["paper"])) >= NO_SIGN
            row["same_sign"] = bool(np.sign(row["ours"]) == np.sign(row["paper"])) if signed else None
            row["status"] = "compared" if both else "not yet run" if not have else "not printed"
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame["same_sign"] = frame["same_sign"].astype("boolean")
    return frame


def delta_summary(deltas: pd.DataFrame) -> pd.DataFrame:
    """Per delta over the tasks with both: n, sign agreement over those with a sign on both sides
    (``signed``), Spearman's rho (and p; n >= 3 and neither side constant), the mean of ours and of the
    paper's."""
    out = []
    for name, rows in deltas.groupby("delta", sort=False):
        both = rows[rows["status"] == "compared"]
        n = len(both)
        rho = p = math.nan
        if n >= 3 and both["ours"].nunique() > 1 and both["paper"].nunique() > 1:
            rho, p = spearman(both["ours"], both["paper"])
        out.append(
            {
                "delta": name,
                "label": rows["label"].iat[0],
                "n": n,
                "same_sign": int(both["same_sign"].sum()) if n else 0,
                "signed": int(both["same_sign"].notna().sum()),
                "spearman_rho": rho,
                "spearman_p": p,
                "ours_mean": both["ours"].mean() if n else math.nan,
                "paper_mean": both["paper"].mean() if n else math.nan,
                "tasks_planned": len(rows),
            }
        )
    return pd.DataFrame(out)


def sign_agreement(row) -> str:
    """'k of m' tasks whose sign agrees, with those without a sign (ties at three decimals) named."""
    ties = row.n - row.signed
    return f"{row.same_sign} of {row.signed}" + (f" ({ties} without a sign)" if ties else "")


def _num(value: float, fmt: str = "+.3f") -> str:
    return "" if pd.isna(value) else f"{value:{fmt}}"


def deltas_markdown(deltas: pd.DataFrame, summary: pd.DataFrame, encoder: str) -> str:
    lines = [
        "# What the record judges: differences within each model, beside the paper's",
        "",
        f"Our runs use {encoder}, the paper's BioBERT: absolute F1 of two models are not compared "
        "(comparison.md shows them, flagged). A delta is ours a - b per task, test word-level F1 with "
        "B-/I- stripped (`word_io_f1`, the paper's printed metric) at each run's reported epoch, mean "
        "over seeds; strict word and entity F1 deltas beside it. Sign agreement and Spearman's rho "
        "are over the tasks with both (n); a difference under 0.0005 on either side (zero at the paper's "
        "three decimals) has no sign and is left out of the sign count.",
        "",
        "| delta | n | same sign | Spearman rho (p) | ours mean | paper mean |",
        "|---|---|---|---|---|---|",
    ]
    for row in summary.itertuples():
        rho = f"{row.spearman_rho:+.2f} ({row.spearman_p:.2g})" if pd.notna(row.spearman_rho) else "–"
        lines.append(
            f"| {row.label} | {row.n} of {row.tasks_planned} | {sign_agreement(row)} | {rho} | "
            f"{_num(row.ours_mean)} | {_num(row.paper_mean)} |"
        )
    lines += ["", cells_markdown(deltas)]
    return "\n".join(lines)


def cells_markdown(deltas: pd.DataFrame) -> str:
    """One line per (delta, task): the paper's delta and its source, ours (word IO; strict beside it)."""
    lines = [
        "| delta | task | paper (source) | ours | ours: strict word, entity | same sign | says |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in deltas.itertuples():
        says = (row.status if row.status != "compared" else "no sign at three decimals"
                if pd.isna(row.same_sign) else "same sign" if row.same_sign else "opposite sign")
        strict = (
            f"{_num(row.ours_word_strict)}, {_num(row.ours_entity_strict)}"
            if row.status != "not yet run"
            else ""
        )
        lines.append(
            f"| {row.label} | {row.task} | {_num(row.paper)} ({row.paper_source}) | "
            f"{_num(row.ours) if row.status != 'not yet run' else '–'} | {strict} | "
            f"{'' if pd.isna(row.same_sign) else 'yes' if row.same_sign else 'no'} | {says} |"
        )
    return "\n".join(lines) + "\n"


def deltas_figure(deltas: pd.DataFrame, target: Path, encoder: str) -> None:
    """One panel per delta: our delta (y) against the paper's (x) per task, coloured by entity type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mtaal.io import png_and_svg, save_figure
    from mtaal.results.multitask_report.figures import COLORS

    names = list(dict.fromkeys(deltas["delta"]))
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), squeeze=False)
    for axis, name in zip(axes[0], names, strict=True):
        rows = deltas[(deltas["delta"] == name) & (deltas["status"] == "compared")]
        axis.axhline(0, color="0.7", lw=0.8)
        axis.axvline(0, color="0.7", lw=0.8)
        for kind, part in rows.groupby("entity_type"):
            axis.scatter(part["paper"], part["ours"], color=COLORS.get(kind, "0.3"), label=kind, s=18)
        agree, signed = int(rows["same_sign"].sum()), int(rows["same_sign"].notna().sum())
        label = deltas.loc[deltas["delta"] == name, "label"].iat[0]
        axis.set_title(f"{label}\nsame sign {agree} of {signed}", fontsize=8.5)
        axis.set_xlabel("paper (BioBERT, printed)", fontsize=8)
        axis.set_ylabel(f"ours ({encoder})", fontsize=8)
        if not len(rows):
            axis.text(0.5, 0.5, "not yet run", ha="center", va="center", transform=axis.transAxes)
    handles = {h.get_label(): h for axis in axes[0] for h in axis.collections}
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), fontsize=8)
    fig.suptitle(
        "Within-model differences per task: ours against the paper's (test word F1, B-/I- stripped)",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.08, 1, 0.93))
    save_figure(fig, png_and_svg(target), dpi=110, metadata={"Title": "multitask record deltas"})
