"""The results store's transformer rows -> one tidy score table.

The report reads the store (:mod:`mtaal.results.store`, partition ``paper=multitask``), never the run
directories: per run and task its best dev epoch's dev and test scores (the ``final`` rows), the best epoch
(their ``step``), the epochs run (the run's largest ``step``), the training sequences seen in the best epoch
and the data record (``split`` ``train``: training sequences in total, kept after ablation, the task's
ablation fraction). A run's identity (experiment, group, encoder, seed, ablation fraction, entity types) is
the store's, which the run wrote itself.
"""

from __future__ import annotations

import pandas as pd

from mtaal.multitask.evaluation import METRICS
from mtaal.multitask.identity import EXPERIMENTS, SKIP_REASONS
from mtaal.results.store import SKIPPED_PREFIX

SCORE_COLUMNS = {
    "encoder": "str",
    "experiment": "str",
    "group": "str",
    "fraction": "float64",
    "seed": "int64",
    "task": "object",
    "entity_type": "object",
    "status": "str",
    "reason": "object",
    "split": "object",
    "best_epoch": "float64",
    "epochs_run": "float64",
    "train_sequences": "float64",
    "train_total": "float64",
    "train_kept": "float64",
    "task_ablation_fraction": "float64",
    **dict.fromkeys(METRICS, "float64"),
}
# The reason a trained run gives for a task it left out (store code no_training_data).
LEFT_OUT = "no training data (corpus skipped)"
RUN = ["experiment", "run_id"]
EXPERIMENT_ORDER = {experiment: i for i, experiment in enumerate(EXPERIMENTS)}


def _frame(rows: pd.DataFrame | list[dict], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows).reindex(columns=list(columns))
    return frame.astype(columns)


def scores_from_store(store: pd.DataFrame, encoder: str | None = None) -> pd.DataFrame:
    """One row per run x task x split (dev, test) with the best epoch's scores and the data record; a
    skipped run or task gives one row with ``status`` ``skipped``, its ``reason`` and no split or scores.

    ``store``: :func:`~mtaal.results.store.read_store` rows (other papers' are left out). ``encoder``: keep
    that encoder's runs only; None: the store must hold one encoder's."""
    rows = store[store["paper"] == "multitask"] if "paper" in store.columns else store
    if encoder is not None:
        rows = rows[rows["model"] == encoder]
    encoders = sorted(rows["model"].dropna().unique())
    if len(encoders) > 1:
        raise ValueError(f"runs of several encoders ({', '.join(encoders)}); report one encoder at a time")
    if rows.empty:
        return _frame([], SCORE_COLUMNS)
    rows = rows.assign(group=rows["setting"].str.split("/", n=1).str[1])
    skipped = rows["metric"].str.startswith(SKIPPED_PREFIX)
    epochs_run = rows[rows["step_kind"] == "epoch"].groupby(RUN)["step"].max().rename("epochs_run")
    final = rows[~skipped & rows["final"].astype(bool)]
    keys = [*RUN, "model", "group", "ablation_fraction", "seed", "dataset", "entity_type"]
    data = final[final["split"] == "train"].set_index([*RUN, "dataset", "metric"])["value"].unstack("metric")
    scored = final[final["split"].isin(["dev", "test"]) & final["metric"].isin(METRICS)]
    trained = scored.set_index([*keys, "split", "step", "metric"])["value"].unstack("metric").reset_index()
    trained = (
        trained.merge(data.reset_index(), on=[*RUN, "dataset"], how="left")
        .merge(epochs_run.reset_index(), on=RUN, how="left")
        .assign(status="trained", best_epoch=lambda f: f["step"].astype(float))
    )
    left = rows[skipped].copy()
    has_scores = left.set_index(RUN).index.isin(trained.set_index(RUN).index)
    codes = left["metric"].str.removeprefix(SKIPPED_PREFIX)
    left["reason"] = [LEFT_OUT if scored_run else SKIP_REASONS.get(code, code)
                      for code, scored_run in zip(codes, has_scores, strict=True)]
    left = left.drop(columns="split").assign(status="skipped")  # no split, as no scores
    frame = pd.concat([left, trained], ignore_index=True)
    frame = frame.rename(columns={"model": "encoder", "ablation_fraction": "fraction", "dataset": "task"})
    # Runs in a fixed order (experiment, group, fraction, seed); within a run skipped tasks first, then
    # each task's dev and test rows.
    frame = frame.assign(
        _e=frame["experiment"].map(EXPERIMENT_ORDER),
        _s=(frame["status"] == "trained").astype(int),
        _p=frame["split"].map({"dev": 0, "test": 1}),
    ).sort_values(["_e", "group", "fraction", "seed", "_s", "task", "_p"], kind="stable", na_position="first")
    return _frame(frame.drop(columns=["_e", "_s", "_p"]).reset_index(drop=True), SCORE_COLUMNS)
