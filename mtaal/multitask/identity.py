"""Who a transformer run is: the ``identity`` its ``best.json`` carries, so that no reader takes it from the
run's path (:mod:`mtaal.results.store` reads it from there).

The caller (the rule's ``params.identity``, the CLI) names :data:`IDENTITY_NAMES`: the experiment (one of
:data:`EXPERIMENTS`), its group (the task, ``all`` or the held-out entity type), the encoder's config key,
the tier, and each task's entity type from the run's corpus registry (config ``corpus_registry``). The run
adds the rest of :data:`RUN_IDENTITY`: ``paper`` (``multitask``), the encoder's model as configured and its
revision, seed, ablation fraction, tasks and ``settings_hash``: 16 hex digits of sha256 over the settings
that produced the run (the training settings with the encoder as configured, not as resolved on this
machine, thread count and checkpoint keeping left out, and settings added later left out at the value
earlier runs had, :data:`~mtaal.multitask.settings.ADDED_DEFAULTS`; the caps; the tasks; whether it
started from a saved encoder; the packing of its wordpiece tables unless ``document``). A trained run's
``epochs.parquet`` repeats :data:`EPOCH_IDENTITY` and each row's ``entity_type`` as columns.

A run that could not train writes ``{"status": "skipped", "reason": SKIP_REASONS[code], ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mtaal.errors import ConfigError
from mtaal.hashing import settings_hash
from mtaal.multitask.settings import TrainSettings

EPOCHS_FILE = "epochs.parquet"
BEST_FILE = "best.json"
EXPERIMENTS = ("stl", "mtl", "mtl_without", "finetune")
IDENTITY_NAMES = ("experiment", "group", "encoder", "tier", "entity_types")
RUN_IDENTITY = (
    "paper", *IDENTITY_NAMES, "encoder_model", "encoder_revision", "seed", "ablation_fraction", "tasks",
    "settings_hash",
)
EPOCH_IDENTITY = (
    "paper", "experiment", "group", "encoder", "seed", "ablation_fraction", "tier", "settings_hash"
)
# Why a run did not train (code -> best.json's "reason"); the results store keeps the code.
SKIP_REASONS = {
    "no_training_data": "no task has training data",
    "no_encoder": "no encoder from the entity-ablated MTL run",
}


def check_identity(names: Mapping[str, Any], tasks: Sequence[str]) -> None:
    """The caller's names are complete, the experiment known, and every task has an entity type."""
    missing = [name for name in IDENTITY_NAMES if name not in names]
    unknown = sorted(set(names) - set(IDENTITY_NAMES))
    if missing or unknown:
        raise ConfigError(f"run identity: missing {missing}, unknown {unknown} (expected {IDENTITY_NAMES})")
    if names["experiment"] not in EXPERIMENTS:
        raise ConfigError(f"run identity: experiment {names['experiment']!r} is not one of {EXPERIMENTS}")
    untyped = sorted(set(tasks) - set(names["entity_types"]))
    if untyped:
        raise ConfigError(f"run identity: no entity type for tasks {untyped}")


def run_identity(
    names: Mapping[str, Any],
    tasks: list[str],
    training: Mapping,
    encoder: str,
    *,
    seed: int,
    ablation_fraction: float,
    max_train_sequences: int | None,
    max_eval_sequences: int | None,
    fine_tuned: bool,
    max_train_subwords: int | None = None,
    save_encoder: bool,
    encoder_revision: str | None,
    packing: str = "document",
) -> dict[str, Any]:
    """best.json's ``identity``: the caller's ``names`` and what the run knows, with its settings hash
    (``packing``: how its wordpiece tables were packed; ``document``, the packing before the switch, is
    left out of the hash, as are later-added training settings at their earlier value)."""
    check_identity(names, tasks)
    settings = TrainSettings.from_mapping(
        {**training, "encoder": str(encoder), "seed": int(seed),
         "ablation_fraction": float(ablation_fraction), "save_encoder": save_encoder}
    ).hashed_dict()
    hashed = {
        "training": settings,
        "encoder_revision": encoder_revision,
        "max_train_sequences": max_train_sequences,
        "max_eval_sequences": max_eval_sequences,
        "tasks": sorted(tasks),
        "fine_tuned": fine_tuned,
        **({"packing": packing} if packing != "document" else {}),
        **({"max_train_subwords": max_train_subwords} if max_train_subwords is not None else {}),
    }
    return {
        "paper": "multitask",
        **{k: names[k] for k in ("experiment", "group", "encoder", "tier")},
        "entity_types": {task: names["entity_types"][task] for task in sorted(tasks)},
        "encoder_model": str(encoder),
        "encoder_revision": encoder_revision,
        "seed": int(seed),
        "ablation_fraction": float(ablation_fraction),
        "tasks": sorted(tasks),
        "settings_hash": settings_hash(hashed),
    }


def multitask_run_id(identity: Mapping[str, Any]) -> str:
    """The store file name of one transformer run (unique within its experiment), from its identity."""
    return (f"{identity['encoder']}__{identity['group']}__ablation{identity['ablation_fraction']:g}"
            f"__seed{identity['seed']}")


def reported_epochs(record: Mapping[str, Any]) -> dict[str, int]:
    """The epoch whose scores each task of a trained run reports (its ``best.json``): the task's own
    ``best_epoch`` (``model_selection`` ``per_task``; runs from before the switch carry none), else the run's
    best mean dev epoch. A reader of ``epochs.parquet`` marks these rows as the run's result."""
    return {str(task): int(entry.get("best_epoch", record["best_epoch"]))
            for task, entry in record.get("tasks", {}).items()}
