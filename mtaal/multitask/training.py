"""Single- and multi-task BERT NER training (Rodriguez, Nguyen & McInnes, JBI 2022), resumable.

Entry point: :func:`run_training` ``(settings, data, out_dir, init_encoder=None)``.

Input, per task: a wordpiece table (columns ``split`` in train/dev/test, ``doc_id``, ``sequence``,
``input_ids``, ``labels`` (-100 on special tokens), ``word_index`` (-1 on special tokens; index of the word in
its document)) and the task's tag list (``O``, ``B-x``, ``I-x``), bundled as :class:`TaskData`.

Choices, each on purpose:

* **Batches.** Plain shuffled batches (``bucket_pool_batches`` 0, the release's ``DataLoader(shuffle=
  True)``), or length-bucketed: a task's training sequences are shuffled, cut into pools of ``batch_size *
  bucket_pool_batches``, each pool sorted by length and cut into batches, and the batches shuffled. Either
  way a batch is padded to its own longest sequence, and the order is a pure function of (seed, task,
  epoch), so a resumed run draws the same batches (:mod:`mtaal.multitask.batching`).
* **MTL schedule.** Round-robin over the tasks (sorted by name), one batch at a time, a backward pass and an
  optimizer step after every batch; no upsampling: a task whose batches run out leaves the rotation and the
  epoch ends when every training batch of every task has been used once (``round_robin``).
* **Optimisation.** AdamW (no weight decay on biases and LayerNorm weights), linear warm-up over
  ``warmup_fraction`` of all steps then linear decay to 0 (``get_linear_schedule_with_warmup``), gradient
  norm clipped to ``max_grad_norm`` (1.0) by default. ``optimizer="adam"``, ``schedule="constant"`` and
  ``max_grad_norm=None`` give what the authors' code runs (``torch.optim.Adam``, a constant rate, no
  clipping); unlike their code, the heads are always optimised too (FIDELITY.md). Loss: token
  cross-entropy over labelled subwords (every subword of every word, -100 only on special tokens and
  padding). ``precision``: fp32 (the paper's) or bf16 autocast on CUDA; the CPU is fp32 either way
  (:mod:`mtaal.multitask.steps`).
* **Model selection.** After every epoch dev is scored (:mod:`mtaal.multitask.evaluation`), and for a
  run of several tasks (MTL) test too, so that either selection can be read from ``epochs.parquet``
  afterwards. ``model_selection="mean"``: one epoch for all tasks, the one with the highest **mean dev
  score over tasks** (``selection_metric``: by default ``word_io_f1``, the paper's primary word-level
  F1); ``"per_task"``: each task reports its own best dev epoch. Ties go to the earliest epoch. The
  best mean dev epoch is ``best.json``'s ``best_epoch`` (and the saved encoder's) either way; each task's
  entry names the epoch it reports. A single-task run (STL, fine-tune), where both selections agree,
  scores test once, after the last epoch, with the best epoch's weights (kept in memory and, when older
  than the last epoch, in the checkpoint): the scores that scoring it every epoch would report at the best
  one, without the other epochs' test passes.
* **Data ablation.** ``ablate`` (:mod:`mtaal.multitask.data`) keeps ``round_half_up((1 - fraction) * n)``
  of each ablated task's training sequences, drawn with a seed derived from (seed, task) so STL and MTL runs
  with the same seed see the same subset; dev and test are never touched. The run records the kept and
  total counts and, per epoch, the training sequences actually used.
* **Entity ablation.** Train MTL on a task subset with ``save_encoder=True``; the best epoch's encoder is
  saved (``save_pretrained``, safetensors) under ``out_dir/encoder``; a held-out task is then fine-tuned
  single-task from it with a new head: ``run_training(settings, {held_out: data}, out, init_encoder=...)``.
* **Resume.** After each epoch but the last a checkpoint (model, optimizer, scheduler, RNG states, epoch
  rows, best epoch and, when older, its weights) is written atomically to
  ``out_dir/checkpoint.safetensors`` or ``checkpoint_path`` (safetensors + JSON, no pickle). Run again
  with the same arguments and training continues after the last finished epoch; on CPU the outcome is
  identical to an uninterrupted run. The checkpoint carries a fingerprint of settings and data and is
  refused when they differ (or unreadable: no pickle is ever loaded). Finished runs leave
  ``epochs.parquet`` and ``best.json`` (and drop the checkpoint unless ``keep_checkpoint``); rerunning a
  finished run returns its stored results (:mod:`mtaal.multitask.run_files`).

Settings: :class:`~mtaal.multitask.settings.TrainSettings`; input: :class:`~mtaal.multitask.data.TaskData`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from mtaal.multitask.batching import (
    count_training_batches,
    derive_seed,
    pad_batch,
    round_robin,
    training_batches,
)
from mtaal.multitask.data import PreparedTask, TaskData, check_fits_encoder, data_record, prepare_tasks
from mtaal.multitask.evaluation import ALL_O_METRICS, METRICS
from mtaal.multitask.model import MultiTaskTagger, load_encoder
from mtaal.multitask.run_files import (
    CHECKPOINT,
    ENCODER_DIR,
    RunResult,
    finished_run,
    read_resume_state,
    restore_resume_state,
    run_fingerprint,
    save_best_encoder,
    write_finished_run,
    write_resume_state,
)
from mtaal.multitask.settings import TrainSettings
from mtaal.multitask.steps import (
    best_record,
    evaluate_split,
    make_optimizer,
    make_scheduler,
    resolve_device,
    select_best_epoch,
    train_step,
)

log = logging.getLogger(__name__)


def score_split(
    model: MultiTaskTagger,
    tasks: list[PreparedTask],
    split: str,
    settings: TrainSettings,
    pad_id: int,
    device: torch.device,
) -> list[dict[str, Any]]:
    """One row per task: its scores on ``split`` (with the all-O tagger's) and the words scored."""
    rows = []
    for t in tasks:
        scores = evaluate_split(
            model, t.name, t.splits[split], t.tags, settings.eval_batch_size, pad_id, device,
            t.gold[split], settings.decoding, settings.precision,
        )
        rows.append(
            {
                "task": t.name,
                "split": split,
                **{m: scores[m] for m in (*METRICS, *ALL_O_METRICS)},
                "words": int(scores["words"]),
            }
        )
    return rows


def copy_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights as a copy (the best epoch's, kept for scoring test after the last epoch)."""
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def run_training(
    settings: TrainSettings,
    data: Mapping[str, TaskData],
    out_dir: str | Path,
    init_encoder: str | Path | None = None,
    *,
    checkpoint_path: str | Path | None = None,
    stop_after_epoch: int | None = None,
) -> RunResult | None:
    """Train STL (one task) or MTL (several) and write ``epochs.parquet`` + ``best.json`` under ``out_dir``.

    ``init_encoder``: start from this encoder (a saved MTL encoder, for entity ablation) instead of
    ``settings.encoder``; the heads are new. ``checkpoint_path``: where the epoch checkpoint is kept
    (default ``out_dir/checkpoint.safetensors``; elsewhere, it outlives a wiped work tree).
    ``stop_after_epoch``: return None after checkpointing that epoch (simulates an interrupted job).
    Returns the run's results when it has finished.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if settings.num_threads:
        torch.set_num_threads(settings.num_threads)
    tasks = prepare_tasks(settings, data)
    init = None if init_encoder is None else str(init_encoder)
    test_every_epoch = len(tasks) > 1  # MTL: either selection can be read afterwards
    fingerprint = run_fingerprint(settings, tasks, init, test_every_epoch)
    encoder_dir = out / ENCODER_DIR if settings.save_encoder else None

    done = finished_run(out, fingerprint, encoder_dir)
    if done is not None:
        log.info("%s: finished run found, returning its results", out)
        return done

    device = resolve_device(settings.device)
    torch.manual_seed(settings.seed)
    encoder = load_encoder(init if init is not None else settings.encoder)
    model = MultiTaskTagger(encoder, {t.name: len(t.tags) for t in tasks}, dropout=settings.dropout).to(
        device
    )
    pad_id = int(getattr(encoder.config, "pad_token_id", None) or 0)
    check_fits_encoder(tasks, encoder.config)
    optimizer = make_optimizer(model, settings)
    steps_per_epoch = sum(
        count_training_batches(len(t.splits["train"]), settings.batch_size, settings.bucket_pool_batches)
        for t in tasks
    )
    scheduler = make_scheduler(optimizer, settings, steps_per_epoch * settings.epochs)

    rows: list[dict[str, Any]] = []
    start_epoch = 1
    ckpt_path = out / CHECKPOINT if checkpoint_path is None else Path(checkpoint_path)
    log.info("%s: epoch checkpoints at %s", out, ckpt_path)
    state = read_resume_state(ckpt_path, fingerprint)
    best_weights = None
    if state is not None:
        rows, start_epoch, best_weights = restore_resume_state(state, model, optimizer, scheduler)
        if best_weights is None and not test_every_epoch:  # the checkpointed epoch was the best
            best_weights = copy_state(model)
        del state
        log.info("%s: resuming after epoch %d", out, start_epoch - 1)
    record = data_record(settings, tasks)
    for t in tasks:
        log.info(
            "task %s: %d/%d training sequences (ablation %.2f), %d dev, %d test",
            t.name,
            len(t.splits["train"]),
            t.train_total,
            settings.ablation_fraction,
            len(t.splits["dev"]),
            len(t.splits["test"]),
        )

    best_epoch = select_best_epoch(pd.DataFrame(rows), settings.selection_metric) if rows else None
    for epoch in range(start_epoch, settings.epochs + 1):
        started = time.perf_counter()
        torch.manual_seed(derive_seed(settings.seed, "epoch", epoch))
        batches = {
            t.name: training_batches(
                t.splits["train"].lengths,
                settings.batch_size,
                derive_seed(settings.seed, "batches", t.name, epoch),
                settings.bucket_pool_batches,
            )
            for t in tasks
        }
        by_name = {t.name: t for t in tasks}
        schedule = round_robin({name: len(b) for name, b in batches.items()})
        loss_sum = dict.fromkeys(by_name, 0.0)
        seen = dict.fromkeys(by_name, 0)
        model.train()
        for task, index in tqdm(schedule, desc=f"epoch {epoch}/{settings.epochs}", leave=False, disable=None):
            seqs = by_name[task].splits["train"]
            batch = batches[task][index]
            ids, mask, labels = pad_batch(
                [seqs.input_ids[i] for i in batch], [seqs.labels[i] for i in batch], pad_id
            )
            loss_sum[task] += train_step(
                model, optimizer, scheduler, task, ids, mask, labels, device, settings.max_grad_norm,
                settings.precision,
            )
            seen[task] += len(batch)
        train_seconds = time.perf_counter() - started
        dev_rows = score_split(model, tasks, "dev", settings, pad_id, device)
        if test_every_epoch:
            dev_rows += score_split(model, tasks, "test", settings, pad_id, device)
        seconds = time.perf_counter() - started
        epoch_rows = [
            {
                "epoch": epoch,
                **row,
                "train_loss": loss_sum[row["task"]] / n if (n := len(batches[row["task"]])) else float("nan"),
                "train_batches": n,
                "train_sequences": seen[row["task"]],
                "train_seconds": train_seconds,
                "seconds": seconds,
            }
            for row in dev_rows
        ]
        rows.extend(epoch_rows)
        frame = pd.DataFrame(rows)
        new_best = select_best_epoch(frame, settings.selection_metric)
        if new_best == epoch:
            best_weights = None if test_every_epoch else copy_state(model)
            if encoder_dir is not None:
                save_best_encoder(model.encoder, encoder_dir)
        best_epoch = new_best
        dev = frame[(frame["epoch"] == epoch) & (frame["split"] == "dev")]
        log.info(
            "epoch %d/%d: loss %.4f, dev word F1 (paper's) %.4f, entity F1 %.4f (mean of %d tasks); "
            "best %d; %.1f s",
            epoch,
            settings.epochs,
            float(np.nanmean([r["train_loss"] for r in epoch_rows])),
            dev["word_io_f1"].mean(),
            dev["entity_f1"].mean(),
            len(tasks),
            best_epoch,
            seconds,
        )
        if epoch < settings.epochs or settings.keep_checkpoint:  # after the last, the run files follow
            write_resume_state(
                ckpt_path, fingerprint, epoch, model, optimizer, scheduler, device, rows, best_epoch,
                best_weights=None if best_epoch == epoch else best_weights,
            )
        if stop_after_epoch is not None and epoch >= stop_after_epoch and epoch < settings.epochs:
            log.info("%s: stopping after epoch %d as asked", out, epoch)
            return None

    if not test_every_epoch:
        # One task: test is scored once, at the best dev epoch, with that epoch's weights: the same scores
        # as scoring it after every epoch and keeping the best epoch's (about a sixth of a small run's
        # compute saved).
        model.load_state_dict(best_weights)
        dev_at_best = {r["task"]: r for r in rows if r["epoch"] == best_epoch and r["split"] == "dev"}
        for row in score_split(model, tasks, "test", settings, pad_id, device):
            rows.append({**dev_at_best[row["task"]], **row})
    epochs = pd.DataFrame(rows)
    best = {
        **best_record(epochs, settings),
        "epochs_run": int(epochs["epoch"].max()),
        "ablation_fraction": settings.ablation_fraction,
        "data": record,
        "init_encoder": init,
        "encoder_dir": str(encoder_dir) if encoder_dir is not None else None,
        "settings": settings.as_dict(),
        "fingerprint": fingerprint,
    }
    write_finished_run(out, epochs, best)
    if not settings.keep_checkpoint:
        ckpt_path.unlink(missing_ok=True)
    log.info(
        "%s: best mean dev epoch %d, test word F1 (paper's) %.4f (mean over tasks; %s)",
        out,
        best["best_epoch"],
        best["mean"]["test"]["word_io_f1"],
        best["selection"],
    )
    return RunResult(epochs, best, out, encoder_dir)
