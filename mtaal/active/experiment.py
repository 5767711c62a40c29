"""One MTAAL experiment (dataset, embedding, variant, seed) from workflow config pieces.

Shared by the Snakemake rule and ``mtaal active-learn`` so both run exactly the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from mtaal.active.data import load_al_data
from mtaal.active.loop import run_active_learning
from mtaal.active.settings import ALSettings
from mtaal.active.studies import study_for

STUDY_KEYS = (
    "rounds", "query_size", "initial_epochs", "epochs_per_round", "warm_start", "max_pool_sentences",
    "max_labeled_sentences",
    "max_test_sentences", "dd_steps",
)
MODEL_KEYS = ("hidden", "char_dim", "batch_size", "lr", "betas", "adversarial_lr")
# Paper-or-release switches (FIDELITY.md); absent = ALSettings' defaults, the paper's side.
OPTIONAL_MODEL_KEYS = ("char_init", "discriminators", "drop_last_batch", "entropy_aggregate", "mnlp_form",
                       "random_with_replacement", "release_test_shuffle", "length_buckets", "word_vectors",
                       "char_encoders")


def experiment_settings(
    dataset: str, embedding: str, variant: Mapping, study: Mapping, model: Mapping, seed: int
) -> ALSettings:
    """Map a config variant (tasks, strategy, td, dd, and optionally ``model``: switches that override the
    tier's model settings for this variant alone), a study's loop settings (``query_size`` a number or a
    {dataset: n} map) and the model settings."""
    study = study_for(study, dataset)
    model = {**model, **(variant.get("model") or {})}
    return ALSettings(
        dataset=dataset,
        embedding=embedding,
        tasks=tuple(variant["tasks"]),
        strategy=variant["strategy"],
        use_td=variant["td"],
        use_dd=variant["dd"],
        seed=int(seed),
        **{key: study[key] for key in STUDY_KEYS},
        **{key: tuple(model[key]) if key == "betas" else model[key] for key in MODEL_KEYS},
        **{key: model[key] for key in OPTIONAL_MODEL_KEYS if key in model},
    )


def run_experiment(
    settings: ALSettings,
    corpus_dir: Path,
    vectors: Path,
    rounds_path: Path,
    checkpoint_path: Path,
    progress: bool = True,
    threads: int | None = None,
    identity: Mapping[str, str] | None = None,
):
    """Load the dataset's MTAAL pool from ``corpus_dir`` (tokens, split, labels) and run the loop.

    ``threads`` caps torch's CPU threads: a scheduler's parallel jobs must not oversubscribe the cores
    (busy-waiting threads slowed rounds down a hundredfold when they did). ``identity``: the names the
    rounds are written with (paper, experiment, variant, tier; see
    :data:`~mtaal.active.settings.IDENTITY_SCHEMA`)."""
    if threads is not None:
        torch.set_num_threads(threads)
    corpus_dir = Path(corpus_dir)
    data = load_al_data(
        corpus_dir / "tokens.parquet", corpus_dir / "mtaal_split.parquet", corpus_dir / "mtaal_labels.json"
    )
    return run_active_learning(settings, data, vectors, rounds_path, checkpoint_path, progress=progress,
                               identity=identity)
