"""Multitask BERT training: schedule, batching, ablation, best-epoch selection, resume, entity ablation.

Runs use a tiny randomly initialised BERT saved to a temporary directory (offline, seconds on a CPU).
"""

import copy
import json
from collections import Counter
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtaal.checkpoint import load_checkpoint
from mtaal.errors import ConfigError
from mtaal.multitask import training
from mtaal.multitask.batching import bucket_batches, count_batches, pad_batch, round_robin
from mtaal.multitask.data import TaskData, ablate, n_kept
from mtaal.multitask.model import MultiTaskTagger, load_encoder, tiny_encoder
from mtaal.multitask.settings import TrainSettings
from mtaal.multitask.steps import make_optimizer, make_scheduler, select_best_epoch, train_step
from mtaal.multitask.training import run_training

torch.set_num_threads(1)

TAGS = ["O", "B-x", "I-x"]
CLS, SEP = 2, 3


def make_table(
    n_train: int, n_dev: int = 4, n_test: int = 4, seed: int = 0, dataset: str = "toy_x"
) -> pd.DataFrame:
    """A wordpiece table: words of 1-3 subwords; words with ids >= 40 are entities (B-x, then I-x)."""
    rng = np.random.default_rng(seed)
    rows = []
    for split, n in (("train", n_train), ("dev", n_dev), ("test", n_test)):
        for s in range(n):
            doc, seq = f"{split}{s // 2}", s % 2
            first_word = 0 if seq == 0 else 100
            ids, labels, words = [CLS], [-100], [-1]
            n_words = int(rng.integers(2, 9))
            previous = 0
            for w in range(n_words):
                entity = rng.random() < 0.3
                tag = 0 if not entity else (2 if previous else 1)
                for _ in range(int(rng.integers(1, 4))):
                    ids.append(int(rng.integers(40, 64) if entity else rng.integers(5, 40)))
                    labels.append(tag)
                    words.append(first_word + w)
                previous = tag
            ids.append(SEP)
            labels.append(-100)
            words.append(-1)
            rows.append(
                {
                    "dataset": dataset,
                    "split": split,
                    "doc_id": doc,
                    "sequence": seq,
                    "input_ids": ids,
                    "labels": labels,
                    "word_index": words,
                    "n_words": n_words,
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny_encoder")
    tiny_encoder(seed=3).save_pretrained(path)
    return path


def tiny_settings(encoder_dir, **overrides) -> TrainSettings:
    values = {
        "encoder": str(encoder_dir),
        "epochs": 3,
        "batch_size": 4,
        "eval_batch_size": 8,
        "learning_rate": 1e-3,
        "warmup_fraction": 0.2,
        "seed": 7,
        "bucket_pool_batches": 2,
        "device": "cpu",
    }
    values.update(overrides)
    return TrainSettings(**values)


# ---------------------------------------------------------------------------- schedule and batches


def test_round_robin_interleaves_without_upsampling():
    assert round_robin({"a": 3, "b": 1, "c": 2}) == [
        ("a", 0),
        ("b", 0),
        ("c", 0),
        ("a", 1),
        ("c", 1),
        ("a", 2),
    ]
    assert round_robin({}) == []
    assert round_robin({"only": 2}) == [("only", 0), ("only", 1)]


@given(st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3), st.integers(0, 12), max_size=6))
def test_round_robin_visits_every_batch_once_in_rounds(counts):
    schedule = round_robin(counts)
    assert Counter(schedule) == Counter((t, i) for t, n in counts.items() for i in range(n))
    assert len(set(schedule)) == len(schedule)
    # the k-th batch of a task comes in round k: no task gets two turns before every live task had one
    rounds = [i for _, i in schedule]
    assert rounds == sorted(rounds)
    for task in counts:
        assert [i for t, i in schedule if t == task] == list(range(counts[task]))
    order = list(counts)
    for i in range(max(counts.values(), default=0)):
        assert [t for t, j in schedule if j == i] == [t for t in order if counts[t] > i]


@settings(deadline=None)
@given(
    st.lists(st.integers(1, 128), max_size=200), st.integers(1, 16), st.integers(1, 5), st.integers(0, 10**6)
)
def test_bucket_batches_cover_each_index_once_and_sort_within_pools(lengths, batch_size, pool_batches, seed):
    pool = batch_size * pool_batches
    batches = bucket_batches(lengths, batch_size, seed, pool)
    flat = np.concatenate(batches) if batches else np.array([], dtype=int)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches)
    assert len(batches) == count_batches(len(lengths), batch_size, pool)
    again = bucket_batches(lengths, batch_size, seed, pool)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    for b in batches:  # each batch is a run of one pool sorted by length
        assert list(np.asarray(lengths)[b]) == sorted(np.asarray(lengths)[b])


def test_bucketing_keeps_similar_lengths_together():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 128, size=400)
    batches = bucket_batches(lengths, 16, seed=1, pool_size=16 * 25)
    padded_bucketed = sum(len(b) * lengths[b].max() for b in batches)
    assert padded_bucketed < 1.15 * lengths.sum()  # vs 128 * 400 for max_len padding


def test_pad_batch_pads_only_to_the_batch_max():
    ids = [np.array([2, 7, 3]), np.array([2, 8, 9, 10, 3]), np.array([2, 3])]
    labels = [np.array([-100, 1, -100]), np.array([-100, 0, 1, 2, -100]), np.array([-100, -100])]
    out_ids, mask, out_labels = pad_batch(ids, labels, pad_id=0)
    assert out_ids.shape == out_labels.shape == mask.shape == (3, 5)
    assert out_ids[2].tolist() == [2, 3, 0, 0, 0]
    assert out_labels[0].tolist() == [-100, 1, -100, -100, -100]
    assert mask.sum(1).tolist() == [3, 5, 2]


# ---------------------------------------------------------------------------- ablation


@given(st.integers(0, 500), st.sampled_from([0.0, 0.1, 0.25, 0.3, 0.5, 0.7, 0.9, 1.0]), st.integers(0, 99))
def test_ablate_keeps_round_of_remaining_fraction(n, fraction, seed):
    kept = ablate(list(range(n)), fraction, seed)
    expected = n_kept(n, fraction)
    assert len(kept) == expected
    exact = (1 - Fraction(str(fraction))) * n
    if exact % 1 != Fraction(1, 2):  # no tie: plain rounding
        assert expected == round(exact)
    else:
        assert expected == exact + Fraction(1, 2)
    assert kept == sorted(set(kept)) and set(kept) <= set(range(n))
    assert ablate(list(range(n)), fraction, seed) == kept


def test_ablate_rounds_half_up_and_differs_by_seed():
    assert n_kept(5, 0.5) == 3 and n_kept(7, 0.5) == 4 and n_kept(10, 0.3) == 7 and n_kept(25, 0.9) == 3
    assert ablate(list(range(100)), 0.5, 1) != ablate(list(range(100)), 0.5, 2)


def test_run_applies_ablation_to_training_only_and_records_it(encoder_dir, tmp_path):
    data = {"toy_x": TaskData(make_table(10, n_dev=5, n_test=3), TAGS)}
    result = run_training(tiny_settings(encoder_dir, epochs=1, ablation_fraction=0.3), data, tmp_path)
    record = result.best["data"]["toy_x"]
    assert (record["train_total"], record["train_kept"], record["dev"], record["test"]) == (10, 7, 5, 3)
    assert result.best["ablation_fraction"] == 0.3
    assert set(result.epochs["train_sequences"]) == {7}
    # dev/test scoring used every dev/test word: compare with the table's own word counts
    table = data["toy_x"].table
    for split in ("dev", "test"):
        words = sum(len({w for w in ws if w >= 0}) for ws in table.loc[table["split"] == split, "word_index"])
        assert result.epochs.loc[result.epochs["split"] == split, "words"].iloc[0] == words


def test_unablated_tasks_keep_all_training_data(encoder_dir, tmp_path):
    data = {"a_x": TaskData(make_table(8, seed=1), TAGS), "b_x": TaskData(make_table(6, seed=2), TAGS)}
    settings_ = tiny_settings(encoder_dir, epochs=1, ablation_fraction=0.5, ablation_tasks=["a_x"])
    result = run_training(settings_, data, tmp_path)
    seen = result.epochs.groupby("task")["train_sequences"].first().to_dict()
    assert seen == {"a_x": 4, "b_x": 6}


# ---------------------------------------------------------------------------- best epoch


def test_best_epoch_is_best_mean_dev_over_tasks_earliest_on_ties():
    rows = []
    dev = {1: (0.5, 0.5), 2: (0.9, 0.2), 3: (0.6, 0.6), 4: (0.7, 0.5)}  # means .5 .55 .6 .6
    for epoch, (a, b) in dev.items():
        for task, f1 in (("a", a), ("b", b)):
            rows.append({"epoch": epoch, "task": task, "split": "dev", "word_io_f1": f1, "entity_f1": 1 - f1})
            rows.append({"epoch": epoch, "task": task, "split": "test", "word_io_f1": 1.0, "entity_f1": 1.0})
    frame = pd.DataFrame(rows)
    assert select_best_epoch(frame) == 3  # the paper's word-level F1 by default
    assert select_best_epoch(frame, "entity_f1") == 1


# ---------------------------------------------------------------------------- runs


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["seconds", "train_seconds"])


def test_mtl_run_outputs_and_dynamic_padding(encoder_dir, tmp_path, monkeypatch):
    data = {"b_x": TaskData(make_table(6, seed=2), TAGS), "a_x": TaskData(make_table(13, seed=1), TAGS)}
    calls = []
    real_step = training.train_step

    def spy(model, optimizer, scheduler, task, ids, mask, labels, *args, **kwargs):
        calls.append((task, ids.shape[1], int(mask.sum(1).max()), ids.shape[0]))
        return real_step(model, optimizer, scheduler, task, ids, mask, labels, *args, **kwargs)

    monkeypatch.setattr(training, "train_step", spy)
    run_training(tiny_settings(encoder_dir, epochs=2), data, tmp_path)
    # round robin in task-name order, 4 + 2 batches per epoch, each padded to its own longest sequence
    assert [t for t, *_ in calls[:6]] == ["a_x", "b_x", "a_x", "b_x", "a_x", "a_x"]
    assert len(calls) == 12
    assert all(width == longest for _, width, longest, _ in calls)
    assert sum(n for task, *_, n in calls if task == "a_x") == 2 * 13
    frame = pd.read_parquet(tmp_path / "epochs.parquet")
    assert len(frame) == 2 * 2 * 2  # MTL: dev and test, every epoch x task
    expected_columns = {
        "epoch",
        "task",
        "split",
        "word_precision",
        "word_recall",
        "word_f1",
        "entity_precision",
        "entity_recall",
        "entity_f1",
        "train_loss",
        "train_sequences",
        "seconds",
    }
    assert expected_columns <= set(frame.columns)
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["best_epoch"] in (1, 2)
    assert set(best["tasks"]) == {"a_x", "b_x"}
    at_best = frame[(frame["epoch"] == best["best_epoch"]) & (frame["split"] == "test")].set_index("task")
    assert best["tasks"]["a_x"]["test"]["word_f1"] == pytest.approx(at_best.loc["a_x", "word_f1"])
    assert not (tmp_path / "checkpoint.safetensors").exists()
    # a finished run is not redone
    again = run_training(tiny_settings(encoder_dir, epochs=2), data, tmp_path)
    pd.testing.assert_frame_equal(again.epochs, frame)


def test_resume_after_interruption_matches_uninterrupted(encoder_dir, tmp_path):
    data = {"a_x": TaskData(make_table(10, seed=1), TAGS), "b_x": TaskData(make_table(7, seed=2), TAGS)}
    cfg = tiny_settings(encoder_dir, epochs=3, dropout=0.3)
    straight = run_training(cfg, data, tmp_path / "straight")
    assert run_training(cfg, data, tmp_path / "resumed", stop_after_epoch=1) is None
    assert (tmp_path / "resumed" / "checkpoint.safetensors").exists()
    assert not (tmp_path / "resumed" / "best.json").exists()
    assert run_training(cfg, data, tmp_path / "resumed", stop_after_epoch=2) is None
    state = load_checkpoint(tmp_path / "resumed" / "checkpoint.safetensors")
    assert state["epoch"] == 2 and {r["epoch"] for r in state["rows"]} == {1, 2}
    resumed = run_training(cfg, data, tmp_path / "resumed")
    pd.testing.assert_frame_equal(_comparable(resumed.epochs), _comparable(straight.epochs))
    assert resumed.best["tasks"] == straight.best["tasks"]
    assert resumed.best["best_epoch"] == straight.best["best_epoch"]


KILLED_CHILD = """
import json, sys, time
import pandas as pd, torch
from mtaal.multitask import training
from mtaal.multitask.data import TaskData
from mtaal.multitask.settings import TrainSettings

torch.set_num_threads(1)
write = training.write_resume_state


def write_then_wait(*args, **kwargs):  # the parent kills the job while it waits here
    write(*args, **kwargs)
    time.sleep(300)


training.write_resume_state = write_then_wait
settings, tables, out, checkpoint = json.loads(sys.argv[1])
data = {name: TaskData(pd.read_parquet(path), ["O", "B-x", "I-x"]) for name, path in tables.items()}
training.run_training(TrainSettings.from_mapping(settings), data, out, checkpoint_path=checkpoint)
"""


def test_killed_run_resumes_from_a_checkpoint_outside_its_wiped_directory(encoder_dir, tmp_path):
    # A job killed (SIGKILL) after epoch 1 whose run directory is then lost (a fresh clone, a wiped results/)
    # continues from the checkpoint kept elsewhere (checkpoint_dir) and ends as an uninterrupted run does.
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    tables = {}
    for name, seed in (("a_x", 1), ("b_x", 2)):
        tables[name] = str(tmp_path / f"{name}.parquet")
        make_table(9, seed=seed).to_parquet(tables[name])
    data = {name: TaskData(pd.read_parquet(path), TAGS) for name, path in tables.items()}
    cfg = tiny_settings(encoder_dir, epochs=3, dropout=0.3)
    straight = run_training(cfg, data, tmp_path / "straight")

    out, checkpoint = tmp_path / "work" / "run", tmp_path / "elsewhere" / "run" / "checkpoint.safetensors"
    args = json.dumps([cfg.as_dict(), tables, str(out), str(checkpoint)])
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, args], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert checkpoint.exists(), child.stderr.read() if child.poll() is not None else "no checkpoint in 120 s"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert load_checkpoint(checkpoint)["epoch"] == 1
    assert not (out / "checkpoint.safetensors").exists()
    shutil.rmtree(tmp_path / "work")

    resumed = run_training(cfg, data, out, checkpoint_path=checkpoint)
    pd.testing.assert_frame_equal(_comparable(resumed.epochs), _comparable(straight.epochs))
    assert resumed.best["tasks"] == straight.best["tasks"]
    assert not checkpoint.exists()  # a finished run drops its checkpoint


def test_one_task_scores_test_once_with_the_best_epochs_weights(encoder_dir, tmp_path, monkeypatch):
    # One task (STL, fine-tune), where both model selections agree: epoch 1 made the best (an earlier epoch
    # than the last): the test rows are that epoch's model's scores, in a straight run and in one resumed
    # after epoch 2 (the checkpoint carries the epoch-1 weights).
    monkeypatch.setattr(training, "select_best_epoch", lambda frame, metric: 1)
    data = {"a_x": TaskData(make_table(10, seed=1), TAGS)}
    cfg = tiny_settings(encoder_dir, epochs=3, keep_checkpoint=True)
    straight = run_training(cfg, data, tmp_path / "straight")
    test = straight.epochs[straight.epochs["split"] == "test"]
    assert test["epoch"].tolist() == [1]  # once, at the best epoch only
    assert straight.epochs[straight.epochs["split"] == "dev"]["epoch"].nunique() == 3

    assert run_training(cfg, data, tmp_path / "first", stop_after_epoch=1) is None
    model = MultiTaskTagger(load_encoder(encoder_dir), {"a_x": 3})
    model.load_state_dict(load_checkpoint(tmp_path / "first" / "checkpoint.safetensors")["model"])
    tasks = training.prepare_tasks(cfg, data)
    epoch_one = pd.DataFrame(training.score_split(model, tasks, "test", cfg, 0, torch.device("cpu")))
    pd.testing.assert_frame_equal(
        test[epoch_one.columns].reset_index(drop=True), epoch_one, check_dtype=False
    )
    model.load_state_dict(load_checkpoint(tmp_path / "straight" / "checkpoint.safetensors")["model"])
    epoch_three = pd.DataFrame(training.score_split(model, tasks, "test", cfg, 0, torch.device("cpu")))
    assert not epoch_three.equals(epoch_one)  # the last epoch's weights would have scored otherwise

    assert run_training(cfg, data, tmp_path / "resumed", stop_after_epoch=2) is None
    assert "best_model" in load_checkpoint(tmp_path / "resumed" / "checkpoint.safetensors")
    resumed = run_training(cfg, data, tmp_path / "resumed")
    pd.testing.assert_frame_equal(_comparable(resumed.epochs), _comparable(straight.epochs))


def test_checkpoint_from_other_settings_is_refused(encoder_dir, tmp_path):
    data = {"a_x": TaskData(make_table(6, seed=1), TAGS)}
    run_training(tiny_settings(encoder_dir, epochs=2), data, tmp_path, stop_after_epoch=1)
    with pytest.raises(ConfigError, match="checkpoint"):
        run_training(tiny_settings(encoder_dir, epochs=2, learning_rate=2e-3), data, tmp_path)


def test_a_pickled_checkpoint_is_refused_unread(encoder_dir, tmp_path):
    marker = tmp_path / "code-ran"

    class Planted:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"fingerprint": Planted()}, tmp_path / "checkpoint.safetensors")
    data = {"a_x": TaskData(make_table(6, seed=1), TAGS)}
    with pytest.raises(ConfigError, match=r"not a readable checkpoint.*delete it"):
        run_training(tiny_settings(encoder_dir, epochs=1), data, tmp_path)
    assert not marker.exists()


def test_tables_from_another_tokenizer_are_refused(encoder_dir, tmp_path):
    table = make_table(4)
    table.at[0, "input_ids"] = [CLS, 500, SEP]  # the tiny encoder has 64 ids
    table.at[0, "labels"] = [-100, 0, -100]
    table.at[0, "word_index"] = [-1, 0, -1]
    with pytest.raises(ConfigError, match="vocabulary"):
        run_training(tiny_settings(encoder_dir, epochs=1), {"a_x": TaskData(table, TAGS)}, tmp_path)


def test_held_out_task_fine_tunes_from_the_saved_mtl_encoder(encoder_dir, tmp_path):
    # the workflow's entity ablation: mtl_without saves its encoder, finetune starts from it
    data = {"a_x": TaskData(make_table(8, seed=1), TAGS), "b_x": TaskData(make_table(6, seed=2), TAGS)}
    held_out = {"held_x": TaskData(make_table(5, seed=3), TAGS)}
    mtl = run_training(tiny_settings(encoder_dir, epochs=2, save_encoder=True), data, tmp_path / "mtl")
    stl = run_training(tiny_settings(encoder_dir, epochs=2), held_out, tmp_path / "finetune",
                       init_encoder=mtl.encoder_dir)
    assert set(mtl.best["tasks"]) == {"a_x", "b_x"}
    saved = tmp_path / "mtl" / "encoder"
    assert (saved / "model.safetensors").is_file() and (saved / "config.json").is_file()
    assert set(stl.best["tasks"]) == {"held_x"}
    assert stl.best["init_encoder"] == str(saved)
    # the saved encoder is the MTL model's best epoch, not the untrained one
    start, trained = load_encoder(encoder_dir), load_encoder(saved)
    assert not torch.equal(start.embeddings.word_embeddings.weight, trained.embeddings.word_embeddings.weight)


def test_model_heads_per_task():
    model = MultiTaskTagger(tiny_encoder(), {"a_x": 3, "b_y": 5})
    ids = torch.tensor([[2, 7, 8, 3, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 0]])
    assert model(ids, mask, "a_x").shape == (1, 5, 3)
    assert model(ids, mask, "b_y").shape == (1, 5, 5)
    with pytest.raises(KeyError):
        model(ids, mask, "c")


def test_task_data_reads_tags_from_file_or_parquet_metadata(tmp_path):
    table = pa.Table.from_pandas(make_table(2), preserve_index=False)
    meta = {b"mtaal.wordpiece": json.dumps({"tags": TAGS, "counts": {}}).encode()}
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "t.parquet")
    (tmp_path / "tags.json").write_text(json.dumps({"tags": TAGS}))
    (tmp_path / "tags.txt").write_text("\n".join(TAGS) + "\n")
    for tags in (None, tmp_path / "tags.json", tmp_path / "tags.txt", TAGS):
        data = TaskData.read(tmp_path / "t.parquet", tags)
        assert data.tags == TAGS and len(data.table) == 10


def test_settings_from_mapping_rejects_unknown_keys():
    assert TrainSettings.from_mapping({"epochs": 2, "ablation_tasks": ["a"]}).ablation_tasks == ("a",)
    with pytest.raises(ConfigError, match="unknown"):
        TrainSettings.from_mapping({"epoch": 2})
    with pytest.raises(ConfigError, match="ablation_fraction"):
        TrainSettings(ablation_fraction=1.5)


def test_the_authors_optimiser_adam_constant_rate_no_clipping_heads_included(monkeypatch):
    # Their code: torch.optim.Adam(lr=5e-5, weight_decay=0), no scheduler, no clipping. Unlike their code
    # (which passes only the encoder's parameters), the heads are optimised as well.
    model = MultiTaskTagger(tiny_encoder(), {"a_x": 3})
    release = TrainSettings(optimizer="adam", schedule="constant", warmup_fraction=0.0, weight_decay=0.0,
                            max_grad_norm=None, learning_rate=5e-5)
    optimizer = make_optimizer(model, release)
    assert type(optimizer) is torch.optim.Adam and optimizer.defaults["weight_decay"] == 0.0
    optimised = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert {id(p) for p in model.parameters()} == optimised  # heads included
    head_before = model.heads["a_x"][1].weight.detach().clone()

    def no_clip(*args, **kwargs):
        raise AssertionError("gradients clipped although max_grad_norm is None")

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", no_clip)
    scheduler = make_scheduler(optimizer, release, total_steps=3)
    ids, mask, labels = torch.tensor([[2, 7, 8, 3]]), torch.ones(1, 4, dtype=torch.long), torch.tensor(
        [[-100, 1, 2, -100]])
    rates = []
    for _ in range(3):
        train_step(model, optimizer, scheduler, "a_x", ids, mask, labels, torch.device("cpu"), None)
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates == [5e-5] * 3  # constant: no warm-up, no decay
    assert not torch.equal(model.heads["a_x"][1].weight, head_before)
    assert type(make_optimizer(model, TrainSettings())) is torch.optim.AdamW
    with pytest.raises(ConfigError, match="optimizer"):
        TrainSettings(optimizer="sgd")
    with pytest.raises(ConfigError, match="schedule"):
        TrainSettings(schedule="cosine")


@pytest.mark.parametrize("optimizer", ["adamw", "adam"])
def test_fused_optimiser_steps_as_the_per_tensor_loop(optimizer):
    # The fused kernel is a speed choice only: three steps from the same gradients land on the per-tensor
    # update (groups and weight decay as make_optimizer sets them) up to float rounding.
    train = TrainSettings(optimizer=optimizer, weight_decay=0.1, learning_rate=1e-2)
    torch.manual_seed(0)
    fused_model = MultiTaskTagger(tiny_encoder(), {"a_x": 3})
    loop_model = copy.deepcopy(fused_model)
    before = copy.deepcopy(fused_model.state_dict())
    fused = make_optimizer(fused_model, train)
    assert all(group["fused"] for group in fused.param_groups)
    loop = type(fused)(
        [{**{k: v for k, v in g.items() if k not in ("params", "fused")},
          "params": [dict(loop_model.named_parameters())[n] for n in names_of(fused_model, g["params"])]}
         for g in fused.param_groups],
        foreach=False,
    )
    for step in range(3):
        for a, b in zip(fused_model.parameters(), loop_model.parameters(), strict=True):
            grad = torch.randn(a.shape, generator=torch.Generator().manual_seed(step))
            a.grad, b.grad = grad.clone(), grad.clone()
        fused.step()
        loop.step()
    for (name, a), b in zip(fused_model.named_parameters(), loop_model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
        assert not torch.equal(a, before[name]), name  # every parameter moved


def names_of(model, params):
    by_id = {id(p): n for n, p in model.named_parameters()}
    return [by_id[id(p)] for p in params]
