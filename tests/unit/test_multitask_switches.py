"""The training switches of the multitask taggers do what they say: plain shuffled or length-bucketed
batches, fp32 or bf16 autocast on CUDA, one epoch by mean dev score or each task's best dev epoch (with test
scored every epoch in MTL so that either can be read afterwards), and run identities that stay the same for a
setting at its earlier value."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mtaal.errors import ConfigError
from mtaal.multitask.batching import count_training_batches, shuffled_batches, training_batches
from mtaal.multitask.data import TaskData
from mtaal.multitask.identity import reported_epochs, run_identity
from mtaal.multitask.settings import TrainSettings
from mtaal.multitask.steps import autocast, select_best_epoch, selected_epochs, task_best_epochs
from mtaal.multitask.training import run_training
from tests.unit.test_multitask_training import TAGS, _comparable, encoder_dir, make_table, tiny_settings  # noqa: F401

torch.set_num_threads(1)


@given(n=st.integers(0, 60), batch_size=st.integers(1, 9), seed=st.integers(0, 5))
def test_plain_shuffled_batches_are_one_permutation_cut_in_order(n, batch_size, seed):
    batches = training_batches(np.arange(n) % 7, batch_size, seed, pool_batches=0)
    assert [b.tolist() for b in batches] == [b.tolist() for b in shuffled_batches(n, batch_size, seed)]
    flat = np.concatenate(batches) if batches else np.zeros(0, int)
    assert flat.tolist() == np.random.default_rng(seed).permutation(n).tolist()  # no sorting by length
    assert [len(b) for b in batches[:-1]] == [batch_size] * (len(batches) - 1)
    assert len(batches) == count_training_batches(n, batch_size, 0) == -(-n // batch_size)


def test_bucketing_sorts_within_pools_and_counts_its_batches():
    lengths = np.random.default_rng(0).integers(1, 100, 200)
    batches = training_batches(lengths, 8, seed=1, pool_batches=5)
    assert len(batches) == count_training_batches(200, 8, 5)
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    plain = np.mean([np.ptp(lengths[b]) for b in training_batches(lengths, 8, seed=1, pool_batches=0)])
    assert spread < plain / 2  # similar lengths together only when bucketing


@pytest.mark.filterwarnings("ignore:CUDA is not available")
def test_precision_switches_bf16_autocast_on_cuda_only():
    assert isinstance(autocast(torch.device("cuda"), "bf16"), torch.autocast)
    for device, precision in (("cuda", "fp32"), ("cpu", "bf16"), ("cpu", "fp32")):
        assert not isinstance(autocast(torch.device(device), precision), torch.autocast)
    with pytest.raises(ConfigError, match="precision"):
        TrainSettings(precision="fp16")
    with pytest.raises(ConfigError, match="model_selection"):
        TrainSettings(model_selection="best")
    with pytest.raises(ConfigError, match="bucket_pool_batches"):
        TrainSettings(bucket_pool_batches=-1)


def test_selections_on_a_made_up_epoch_table():
    rows = [{"epoch": e, "task": t, "split": "dev", "word_io_f1": f}
            for t, scores in {"a": [0.5, 0.9, 0.9], "b": [0.8, 0.2, 0.6]}.items()
            for e, f in enumerate(scores, start=1)]
    frame = pd.DataFrame(rows)
    assert select_best_epoch(frame) == 3  # mean dev 0.65, 0.55, 0.75
    assert task_best_epochs(frame) == {"a": 2, "b": 1}  # the earlier of a's tied epochs
    assert selected_epochs(frame, TrainSettings(model_selection="per_task")) == {"a": 2, "b": 1}
    assert selected_epochs(frame, TrainSettings()) == {"a": 3, "b": 3}


def test_mtl_scores_test_every_epoch_and_either_selection_reads_it(encoder_dir, tmp_path):  # noqa: F811
    data = {"a_x": TaskData(make_table(12, seed=1), TAGS), "b_x": TaskData(make_table(8, seed=2), TAGS)}
    runs = {selection: run_training(tiny_settings(encoder_dir, epochs=3, model_selection=selection,
                                                  bucket_pool_batches=0), data, tmp_path / selection)
            for selection in ("mean", "per_task")}
    mean, per_task = runs["mean"], runs["per_task"]
    # the selection changes what is reported, never what is trained or scored
    pd.testing.assert_frame_equal(_comparable(mean.epochs), _comparable(per_task.epochs))
    frame = mean.epochs
    assert sorted(frame.loc[frame["split"] == "test", "epoch"].unique()) == [1, 2, 3]
    assert len(frame) == 3 * 2 * 2  # dev and test, every epoch x task
    assert mean.best["best_epoch"] == per_task.best["best_epoch"] == select_best_epoch(frame)
    expected = {"mean": dict.fromkeys(data, select_best_epoch(frame)), "per_task": task_best_epochs(frame)}
    for selection, run in runs.items():
        epochs = expected[selection]
        assert run.best["model_selection"] == selection
        for task, epoch in epochs.items():
            entry = run.best["tasks"][task]
            assert entry["best_epoch"] == epoch
            row = frame[(frame["epoch"] == epoch) & (frame["task"] == task) & (frame["split"] == "test")]
            assert entry["test"]["word_io_f1"] == pytest.approx(float(row["word_io_f1"].iloc[0]))
        means = np.mean([run.best["tasks"][t]["test"]["word_f1"] for t in data])
        assert run.best["mean"]["test"]["word_f1"] == pytest.approx(means)
    stored = json.loads((tmp_path / "per_task" / "best.json").read_text())
    assert stored["selection"] == "each task at its own best dev word_io_f1 epoch"
    assert reported_epochs(stored) == task_best_epochs(frame)
    assert reported_epochs({"best_epoch": 2, "tasks": {"a_x": {}}}) == {"a_x": 2}  # a run from before


def test_precision_changes_nothing_on_the_cpu(encoder_dir, tmp_path):  # noqa: F811
    data = {"a_x": TaskData(make_table(8, seed=1), TAGS)}
    runs = [run_training(tiny_settings(encoder_dir, epochs=1, precision=p), data, tmp_path / p)
            for p in ("fp32", "bf16")]
    pd.testing.assert_frame_equal(_comparable(runs[0].epochs), _comparable(runs[1].epochs))


# ---------------------------------------------------------------------------- identity


NAMES = {"experiment": "mtl", "group": "all", "encoder": "minilm", "tier": "default",
         "entity_types": {"cll_cellline": "cell_line", "cdr_chemical": "chemical"}}
TRAINING = {"epochs": 4, "batch_size": 8, "eval_batch_size": 32, "learning_rate": 0.0005,
            "warmup_fraction": 0.1, "weight_decay": 0.01, "optimizer": "adamw", "schedule": "linear",
            "max_grad_norm": 1.0, "dropout": None, "decoding": "last"}


def _hash(training=TRAINING, **kwargs):
    who = run_identity(NAMES, ["cll_cellline", "cdr_chemical"], training, "minilm", seed=1,
                       ablation_fraction=0.5, max_train_sequences=40, max_eval_sequences=24,
                       fine_tuned=False, save_encoder=False, encoder_revision=None, **kwargs)
    return who["settings_hash"]


def test_settings_hash_is_unchanged_for_settings_at_their_earlier_value():
    before = "d1841f5f2d7bc1c2"  # this identity's hash before precision, model_selection and packing existed
    assert _hash() == before
    assert _hash({**TRAINING, "precision": "bf16", "model_selection": "mean"}, packing="document") == before
    changed = {_hash({**TRAINING, "precision": "fp32"}), _hash({**TRAINING, "model_selection": "per_task"}),
               _hash({**TRAINING, "bucket_pool_batches": 0}), _hash(packing="stream")}
    assert len(changed) == 4 and before not in changed
