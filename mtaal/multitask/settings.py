"""Training hyperparameters of the multitask BERT taggers, checked (:class:`TrainSettings`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mtaal.errors import ConfigError
from mtaal.multitask.evaluation import DECODINGS

SELECTION_METRICS = ("word_f1", "word_io_f1", "entity_f1")
OPTIMIZERS = ("adamw", "adam")
SCHEDULES = ("linear", "constant")
# fp32 throughout (the paper's), or bf16 autocast on CUDA (the CPU stays fp32 either way).
PRECISIONS = ("fp32", "bf16")
# One epoch for all tasks by the mean dev score over tasks, or each task at its own best dev epoch.
MODEL_SELECTIONS = ("mean", "per_task")
# Settings added after runs were made, at the value that reproduces those runs: left out of the run's
# settings hash and checkpoint fingerprint at that value, so earlier runs keep their identity.
ADDED_DEFAULTS = {"precision": "bf16", "model_selection": "mean"}
# Settings that do not change what a run computes.
UNHASHED_SETTINGS = ("num_threads", "keep_checkpoint")


@dataclass(frozen=True)
class TrainSettings:
    """Training hyperparameters; ``from_mapping`` reads them from a config section.

    ``encoder``: a model directory or locally cached id (None: the packaged MiniLM). ``dropout``: the heads'
    dropout (None: the encoder's ``hidden_dropout_prob``). ``ablation_tasks``: the tasks whose training data
    is ablated (None: all). ``device``: ``auto`` (CUDA when available), ``cpu`` or ``cuda[:n]``.
    ``bucket_pool_batches``: length-bucketed batches over pools of that many batches; 0: plain shuffled
    batches (the release's). ``precision``: one of :data:`PRECISIONS`. ``model_selection``: one of
    :data:`MODEL_SELECTIONS` (the same epoch for a single task).
    """

    encoder: str | None = None
    epochs: int = 20
    batch_size: int = 32
    eval_batch_size: int = 64
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    max_grad_norm: float | None = 1.0
    optimizer: str = "adamw"
    schedule: str = "linear"
    decoding: str = "last"
    dropout: float | None = None
    seed: int = 1
    ablation_fraction: float = 0.0
    ablation_tasks: tuple[str, ...] | None = None
    bucket_pool_batches: int = 50
    selection_metric: str = "word_io_f1"  # the paper's printed word-level F1
    model_selection: str = "mean"
    precision: str = "bf16"
    save_encoder: bool = False
    keep_checkpoint: bool = False
    device: str = "auto"
    num_threads: int | None = None

    def __post_init__(self) -> None:
        if self.ablation_tasks is not None:
            object.__setattr__(self, "ablation_tasks", tuple(str(t) for t in self.ablation_tasks))
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1 or self.eval_batch_size < 1:
            problems.append("batch_size and eval_batch_size must be >= 1")
        if self.bucket_pool_batches < 0:
            problems.append(f"bucket_pool_batches must be >= 0 (0: off), got {self.bucket_pool_batches}")
        if not 0.0 <= self.warmup_fraction <= 1.0:
            problems.append(f"warmup_fraction must be in [0, 1], got {self.warmup_fraction}")
        if not 0.0 <= self.ablation_fraction <= 1.0:
            problems.append(f"ablation_fraction must be in [0, 1], got {self.ablation_fraction}")
        if self.learning_rate <= 0 or (self.max_grad_norm is not None and self.max_grad_norm <= 0):
            problems.append("learning_rate and max_grad_norm (unless null) must be > 0")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.decoding not in DECODINGS:
            problems.append(f"decoding must be one of {DECODINGS}, got {self.decoding!r}")
        if self.selection_metric not in SELECTION_METRICS:
            problems.append(
                f"selection_metric must be one of {SELECTION_METRICS}, got {self.selection_metric!r}"
            )
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.model_selection not in MODEL_SELECTIONS:
            problems.append(
                f"model_selection must be one of {MODEL_SELECTIONS}, got {self.model_selection!r}"
            )
        if problems:
            raise ConfigError("training settings: " + "; ".join(problems))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> TrainSettings:
        mapping = dict(mapping or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise ConfigError(f"training settings: unknown keys {unknown}; known: {sorted(known)}")
        if mapping.get("ablation_tasks") is not None:
            mapping["ablation_tasks"] = tuple(mapping["ablation_tasks"])
        return cls(**mapping)

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if out["ablation_tasks"] is not None:
            out["ablation_tasks"] = list(out["ablation_tasks"])
        return out

    def hashed_dict(self) -> dict[str, Any]:
        """:meth:`as_dict` less what does not change a run (:data:`UNHASHED_SETTINGS`) and the settings
        added later at the value earlier runs had (:data:`ADDED_DEFAULTS`): what names a run."""
        return {
            key: value for key, value in self.as_dict().items()
            if key not in UNHASHED_SETTINGS and not (key in ADDED_DEFAULTS and value == ADDED_DEFAULTS[key])
        }
