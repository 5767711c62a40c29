"""Run directories -> one tidy score table.

A run is a directory ``results/multitask/<encoder>/<experiment>/<group>/ablation<fraction>/seed<seed>/``
holding ``best.json`` (and ``epochs.parquet``); the path (or the path of its ``best.json``) names the
experiment: ``stl/<task>``, ``mtl/all``, ``mtl_without/<entity type>`` or ``finetune/<task>``. Everything
reported comes from ``best.json`` (``epochs.parquet`` is not read): the best epoch (highest mean dev word
F1), every task's dev and test scores at that epoch, and the data record (training sequences in total, kept
after ablation, seen per epoch). A task's entity type is the corpus registry's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mtaal.corpora.registry import entity_type_of
from mtaal.multitask.evaluation import METRICS

EXPERIMENTS = ("stl", "mtl", "mtl_without", "finetune")


@dataclass(frozen=True)
class RunKey:
    """What a run's path says: ``<encoder>/<experiment>/<group>/ablation<fraction>/seed<seed>``."""

    encoder: str
    experiment: str
    group: str
    fraction: float
    seed: int
    directory: Path


def parse_run_path(path: str | Path) -> RunKey:
    """The run's keys from its directory (or from its ``best.json`` / ``epochs.parquet``)."""
    directory = Path(path)
    if directory.name in ("best.json", "epochs.parquet"):
        directory = directory.parent
    parts = directory.parts
    if len(parts) < 5:
        raise ValueError(f"{path}: expected .../<encoder>/<experiment>/<group>/ablation<f>/seed<s>")
    encoder, experiment, group, ablation, seed = parts[-5:]
    if experiment not in EXPERIMENTS or not ablation.startswith("ablation") or not seed.startswith("seed"):
        raise ValueError(
            f"{path}: expected .../<encoder>/<experiment>/<group>/ablation<f>/seed<s> with experiment one "
            f"of {EXPERIMENTS}"
        )
    try:
        return RunKey(encoder, experiment, group, float(ablation[8:]), int(seed[4:]), directory)
    except ValueError as error:
        raise ValueError(f"{path}: cannot read the ablation fraction or seed ({error})") from error


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


def _frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    return frame.astype(columns)


def collect_scores(run_dirs: Iterable[str | Path]) -> pd.DataFrame:
    """One row per run x task x split (dev, test) with the best epoch's scores and the data record; a
    skipped run or task gives one row with ``status`` ``skipped``, its ``reason`` and no split or scores."""
    rows: list[dict] = []
    for path in run_dirs:
        key = parse_run_path(path)
        best_path = key.directory / "best.json"
        record = json.loads(best_path.read_text(encoding="utf-8"))
        base = {
            "encoder": key.encoder,
            "experiment": key.experiment,
            "group": key.group,
            "fraction": key.fraction,
            "seed": key.seed,
        }
        own_task = key.group if key.experiment in ("stl", "finetune") else None
        if record.get("status") == "skipped" or "tasks" not in record:
            reason = str(record.get("reason", "no scores in best.json"))
            tasks = list(record.get("skipped_tasks") or []) or [own_task]
            for task in tasks:
                rows.append({**base, "task": task, "status": "skipped", "reason": reason})
            continue
        data = record.get("data", {})
        for task in record.get("skipped_tasks") or []:
            rows.append(
                {**base, "task": task, "status": "skipped", "reason": "no training data (corpus skipped)"}
            )
        for task, entry in record["tasks"].items():
            kept = data.get(task, {})
            for split in ("dev", "test"):
                if split not in entry:
                    continue
                rows.append(
                    {
                        **base,
                        "task": task,
                        "status": "trained",
                        "split": split,
                        "best_epoch": record.get("best_epoch"),
                        "epochs_run": record.get("epochs_run"),
                        "train_sequences": entry.get("train_sequences"),
                        "train_total": kept.get("train_total"),
                        "train_kept": kept.get("train_kept"),
                        "task_ablation_fraction": kept.get("ablation_fraction"),
                        **{m: entry[split].get(m) for m in METRICS},
                    }
                )
    frame = _frame(rows, SCORE_COLUMNS)
    frame["entity_type"] = [entity_type_of(t) if isinstance(t, str) else None for t in frame["task"]]
    encoders = sorted(frame["encoder"].unique())
    if len(encoders) > 1:
        raise ValueError(f"runs of several encoders ({', '.join(encoders)}); report one encoder at a time")
    return frame
