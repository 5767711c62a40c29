"""One multitask-NER training run (STL, MTL, entity-ablated MTL or a fine-tune) from workflow config pieces.

Shared by the Snakemake rules and the ``mtaal`` command line. Small tiers cap each task's data: a fixed
(seed-independent) sample of training sequences, so STL and MTL runs see the same subset, and the first
documents of dev/test up to a sequence budget (their gold words restricted to those documents).

Every run, trained or skipped, writes its identity (:mod:`mtaal.multitask.identity`) into ``best.json`` and,
when trained, as constant columns of ``epochs.parquet``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mtaal.errors import ConfigError
from mtaal.io import write_json, write_parquet
from mtaal.multitask.data import TaskData, gold_from_tokens
from mtaal.multitask.encoder_specs import resolve_encoder_dir
from mtaal.multitask.identity import (
    BEST_FILE,
    EPOCH_IDENTITY,
    EPOCHS_FILE,
    SKIP_REASONS,
    check_identity,
    run_identity,
)
from mtaal.multitask.run_files import write_finished_run
from mtaal.multitask.settings import TrainSettings
from mtaal.multitask.training import run_training
from mtaal.multitask.wordpiece import METADATA_KEY

log = logging.getLogger(__name__)
CAP_SEED = 0


def cap_table(
    table: pd.DataFrame, max_train: int | None, max_eval: int | None, packing: str = "document",
    max_train_subwords: int | None = None,
) -> pd.DataFrame:
    """A fixed sample of ``max_train`` training sequences, then of whole training sequences holding at most
    ``max_train_subwords`` subwords in all (a task within the budget stays whole; at least one sequence);
    dev/test: per-document packing keeps documents in order up to ``max_eval`` sequences (whole documents
    only, so their words are all present), stream packing the first ``max_eval`` sequences of the stream
    (the documents they hold whole are scored, :func:`covered_documents`); either way at least the first
    document whole, however long."""
    parts = []
    for split, frame in table.groupby("split", sort=False):
        if split == "train" and max_train is not None and len(frame) > max_train:
            keep = np.sort(np.random.default_rng(CAP_SEED).choice(len(frame), max_train, replace=False))
            frame = frame.iloc[keep]
        if split == "train" and max_train_subwords is not None:
            frame = _within_subwords(frame, max_train_subwords)
        elif split != "train" and max_eval is not None and len(frame) > max_eval:
            if packing == "stream":
                frame = frame.sort_values("sequence", kind="stable")
                # at least the first document whole (a full text can outlast the budget)
                held = frame["doc_ids"] if "doc_ids" in frame.columns else frame["doc_id"].map(lambda d: [d])
                first = held.iloc[0][0]
                last = max(i for i, docs in enumerate(held) if first in list(docs))
                frame = frame.iloc[: max(max_eval, last + 1)]
            else:
                sizes = frame.groupby("doc_id", sort=False).size()
                fitting = max(1, int((np.cumsum(sizes.to_numpy()) <= max_eval).sum()))
                frame = frame[frame["doc_id"].isin(set(sizes.index[:fitting]))]
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def _within_subwords(frame: pd.DataFrame, budget: int) -> pd.DataFrame:
    """A seeded sample of whole sequences (in their order) whose subwords fit ``budget``: sequences are
    drawn in a fixed random order and kept while the total fits (at least the first one)."""
    sizes = frame["input_ids"].map(len).to_numpy()
    if sizes.sum() <= budget:
        return frame
    order = np.random.default_rng(CAP_SEED).permutation(len(frame))
    fits = np.cumsum(sizes[order]) <= budget
    fits[0] = True
    return frame.iloc[np.sort(order[fits])]


def _document_sequences(table: pd.DataFrame) -> pd.Series:
    """How many sequences hold each (split, doc_id) (``doc_ids``; older tables: ``doc_id``)."""
    if "doc_ids" in table.columns:
        held = table[["split", "doc_ids"]].explode("doc_ids").rename(columns={"doc_ids": "doc_id"}).dropna()
    else:
        held = table[["split", "doc_id"]]
    return held.groupby(["split", "doc_id"], sort=False).size()


def covered_documents(table: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """(split, doc_id) of the documents all of whose sequences in ``table`` are in ``kept`` (a cap of it):
    a document that a stream cap cut in two is left out of the gold, so no word is scored that the model
    never saw."""
    held, every = _document_sequences(kept), _document_sequences(table)
    whole = held[held == every.reindex(held.index)]
    return whole.index.to_frame(index=False)


def table_packing(wordpiece_path: Path) -> str:
    """The packing a wordpiece table was built with (tables from before the switch: ``document``)."""
    raw = (pq.read_schema(wordpiece_path).metadata or {}).get(METADATA_KEY)
    return json.loads(raw).get("packing", "document") if raw else "document"


def load_task(
    wordpiece_path: Path, tokens_path: Path, max_train: int | None, max_eval: int | None,
    max_train_subwords: int | None = None,
) -> TaskData | None:
    """The task's sequences and gold words, or None when it has no training data (a skipped corpus)."""
    data = TaskData.read(wordpiece_path)
    if not (data.table["split"] == "train").any():
        return None
    capped = cap_table(data.table, max_train, max_eval, table_packing(wordpiece_path), max_train_subwords)
    gold = gold_from_tokens(
        pd.read_parquet(tokens_path, columns=["split", "doc_id", "sentence", "position", "tag"])
    )
    gold = gold.merge(covered_documents(data.table, capped), on=["split", "doc_id"])
    return TaskData(capped.reset_index(drop=True), data.tags, gold)


def run_multitask(
    tasks: Mapping[str, tuple[Path, Path]],
    training: Mapping,
    encoder: str,
    out_dir: Path,
    *,
    identity: Mapping[str, Any],
    seed: int,
    ablation_fraction: float,
    max_train_sequences: int | None,
    max_eval_sequences: int | None,
    max_train_subwords: int | None = None,
    init_encoder: Path | None = None,
    save_encoder: bool = False,
    encoder_revision: str | None = None,
    checkpoint_path: Path | None = None,
) -> dict:
    """Train on ``tasks`` (name -> (wordpiece parquet, tokens parquet)); write epochs.parquet + best.json.

    ``identity``: the names of :data:`~mtaal.multitask.identity.IDENTITY_NAMES` (experiment, group,
    encoder key, tier, entity type per task). Tasks whose corpus was skipped are left out and listed in
    best.json; with none left the run is recorded as skipped (empty epochs.parquet) instead of failing.
    ``checkpoint_path``: where the run keeps its epoch checkpoint (default: in ``out_dir``).
    """
    out_dir = Path(out_dir)
    check_identity(identity, list(tasks))  # before any file is read
    packings = {table_packing(Path(wordpiece_path)) for wordpiece_path, _ in tasks.values()}
    if len(packings) > 1:
        raise ConfigError(f"the tasks' wordpiece tables were packed differently ({sorted(packings)}); "
                          "rebuild them with one multitask.packing")
    who = run_identity(
        identity, list(tasks), training, encoder, seed=seed, ablation_fraction=ablation_fraction,
        max_train_sequences=max_train_sequences, max_eval_sequences=max_eval_sequences,
        max_train_subwords=max_train_subwords, fine_tuned=init_encoder is not None,
        save_encoder=save_encoder, encoder_revision=encoder_revision,
        packing=packings.pop() if packings else "document",
    )
    data, skipped = {}, []
    for name, (wordpiece_path, tokens_path) in sorted(tasks.items()):
        task = load_task(Path(wordpiece_path), Path(tokens_path), max_train_sequences, max_eval_sequences,
                         max_train_subwords)
        if task is None:
            skipped.append(name)
        else:
            data[name] = task
    if skipped:
        log.warning("tasks without training data (corpus skipped): %s", ", ".join(skipped))
    if not data or (init_encoder is not None and not (Path(init_encoder) / "config.json").is_file()):
        reason = SKIP_REASONS["no_training_data" if not data else "no_encoder"]
        log.warning("run skipped: %s%s", reason, "" if not data else f" (none at {init_encoder})")
        write_parquet(
            pa.table({"epoch": pa.array([], pa.int32()), "task": pa.array([], pa.string())}),
            out_dir / EPOCHS_FILE,
        )
        record = {"status": "skipped", "reason": reason, "skipped_tasks": skipped, "identity": who}
        write_json(record, out_dir / BEST_FILE)
        if save_encoder:
            (out_dir / "encoder").mkdir(parents=True, exist_ok=True)
        return record
    settings = TrainSettings.from_mapping(
        {
            **training,
            "encoder": str(resolve_encoder_dir(encoder, revision=encoder_revision)),
            "seed": int(seed),
            "ablation_fraction": float(ablation_fraction),
            "save_encoder": save_encoder,
        }
    )
    result = run_training(settings, data, out_dir, init_encoder=init_encoder, checkpoint_path=checkpoint_path)
    best = {**result.best, "status": "trained", "skipped_tasks": skipped, "identity": who}
    epochs = result.epochs.assign(
        **{key: who[key] for key in EPOCH_IDENTITY},
        entity_type=[who["entity_types"][t] for t in result.epochs["task"]],
    )
    write_finished_run(out_dir, epochs, best)
    return best
