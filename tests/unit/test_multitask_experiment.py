import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mtaal.errors import ConfigError
from mtaal.multitask.experiment import cap_table, run_multitask
from mtaal.multitask.identity import SKIP_REASONS, run_identity
from mtaal.multitask.model import tiny_encoder
from mtaal.multitask.wordpiece import METADATA_KEY
from mtaal.results.store import multitask_rows


def table():
    rows = []
    for split, n_docs in (("train", 10), ("dev", 4), ("test", 4)):
        for doc in range(n_docs):
            for sequence in range(3):
                rows.append({"split": split, "doc_id": f"{split}{doc}", "sequence": sequence})
    return pd.DataFrame(rows)


def test_training_cap_is_a_fixed_sample_and_eval_cap_keeps_whole_documents():
    capped = cap_table(table(), max_train=7, max_eval=7)
    train = capped[capped["split"] == "train"]
    assert len(train) == 7
    assert train.equals(cap_table(table(), max_train=7, max_eval=7).query("split == 'train'"))
    for split in ("dev", "test"):
        kept = capped[capped["split"] == split]
        assert list(kept["doc_id"].unique()) == [f"{split}0", f"{split}1"]
        assert kept.groupby("doc_id").size().eq(3).all()


def test_no_cap_keeps_everything_and_a_huge_first_document_is_still_kept():
    assert len(cap_table(table(), None, None)) == len(table())
    capped = cap_table(table(), None, 2)
    assert capped[capped["split"] == "dev"]["doc_id"].unique().tolist() == ["dev0"]



# ---------------------------------------------------------------------------- identity


def _task_files(root, name, rng, splits=("train", "dev", "test"), n_docs=4):
    """A task's wordpiece table (one subword per word, one sequence per document) and tokens table."""
    tokens, sequences = [], []
    for split in splits:
        for d in range(n_docs):
            doc, n_words = f"{split}{d}", int(rng.integers(3, 7))
            tags = ["B-x" if w == 1 else "O" for w in range(n_words)]
            tokens += [{"split": split, "doc_id": doc, "sentence": 0, "position": w, "token": f"w{w}",
                        "tag": tag} for w, tag in enumerate(tags)]
            ids = [int(rng.integers(40, 64)) if t != "O" else int(rng.integers(5, 40)) for t in tags]
            sequences.append({"split": split, "doc_id": doc, "sequence": 0, "input_ids": [2, *ids, 3],
                              "labels": [-100, *(TAGS.index(t) for t in tags), -100],
                              "word_index": [-1, *range(n_words), -1]})
    table = pa.Table.from_pylist(sequences)
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps({"tags": TAGS})})
    pq.write_table(table, root / f"{name}.parquet")
    pd.DataFrame(tokens, columns=["split", "doc_id", "sentence", "position", "token", "tag"]).to_parquet(
        root / f"{name}_tokens.parquet")
    return root / f"{name}.parquet", root / f"{name}_tokens.parquet"


TAGS = ["O", "B-x", "I-x"]
TRAINING = {"epochs": 2, "batch_size": 2, "eval_batch_size": 4, "learning_rate": 1e-3, "device": "cpu",
            "bucket_pool_batches": 1}


def _names(**overrides):
    return {"experiment": "mtl", "group": "all", "encoder": "tiny", "tier": "test",
            "entity_types": {"toy_a": "gene", "toy_b": "species"}, **overrides}


def _run(tmp_path, encoder_dir, tasks, names, **kwargs):
    return run_multitask(tasks, {**TRAINING, "num_threads": 1}, str(encoder_dir), tmp_path / "run",
                         identity=names, seed=3, ablation_fraction=0.5, max_train_sequences=None,
                         max_eval_sequences=None, **kwargs)


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny_encoder")
    tiny_encoder(seed=1).save_pretrained(path)
    return path


def test_a_trained_run_writes_its_identity_and_the_store_reads_it(encoder_dir, tmp_path):
    rng = np.random.default_rng(0)
    tasks = {"toy_a": _task_files(tmp_path, "toy_a", rng),
             "toy_b": _task_files(tmp_path, "toy_b", rng, splits=("dev", "test"))}  # no training data
    best = _run(tmp_path, encoder_dir, tasks, _names())
    who = best["identity"]
    assert {k: who[k] for k in ("paper", "experiment", "group", "encoder", "tier", "seed")} == {
        "paper": "multitask", "experiment": "mtl", "group": "all", "encoder": "tiny", "tier": "test",
        "seed": 3}
    assert who["tasks"] == ["toy_a", "toy_b"] and who["entity_types"] == {"toy_a": "gene", "toy_b": "species"}
    assert who["ablation_fraction"] == 0.5 and best["skipped_tasks"] == ["toy_b"]
    assert json.loads((tmp_path / "run/best.json").read_text())["identity"] == who
    epochs = pd.read_parquet(tmp_path / "run/epochs.parquet")
    assert epochs[["experiment", "settings_hash", "entity_type"]].drop_duplicates().values.tolist() == [
        ["mtl", who["settings_hash"], "gene"]]
    _, run_id, rows = multitask_rows(tmp_path / "run")
    assert run_id == "tiny__all__ablation0.5__seed3" and set(rows["settings_hash"]) == {who["settings_hash"]}
    assert rows.loc[rows["metric"] == "skipped_no_training_data", "dataset"].tolist() == ["toy_b"]
    kept = rows[(rows["metric"] == "train_kept") & (rows["dataset"] == "toy_a")]["value"]
    assert kept.tolist() == [best["data"]["toy_a"]["train_kept"]] == [2]
    # Run again: the finished run is found, its identity and columns written once more, unchanged.
    again = _run(tmp_path, encoder_dir, tasks, _names())
    assert again["identity"] == who
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "run/epochs.parquet"), epochs)


def test_a_run_without_data_is_skipped_with_its_identity(encoder_dir, tmp_path):
    rng = np.random.default_rng(1)
    tasks = {"toy_a": _task_files(tmp_path, "toy_a", rng, splits=("dev", "test"))}
    names = _names(experiment="stl", group="toy_a", entity_types={"toy_a": "gene"})
    best = _run(tmp_path, encoder_dir, tasks, names)
    assert best["status"] == "skipped" and best["reason"] == SKIP_REASONS["no_training_data"]
    assert best["identity"]["experiment"] == "stl" and best["identity"]["tasks"] == ["toy_a"]
    experiment, _, rows = multitask_rows(tmp_path / "run")
    assert experiment == "stl" and rows[["dataset", "metric"]].values.tolist() == [
        ["toy_a", "skipped_no_training_data"]]


def test_identity_names_are_checked_before_anything_runs(encoder_dir, tmp_path):
    with pytest.raises(ConfigError, match="experiment 'other'"):
        _run(tmp_path, encoder_dir, {"toy_a": (tmp_path / "a", tmp_path / "b")}, _names(experiment="other"))
    with pytest.raises(ConfigError, match=r"no entity type for tasks \['toy_c'\]"):
        _run(tmp_path, encoder_dir, {"toy_c": (tmp_path / "a", tmp_path / "b")}, _names())
    with pytest.raises(ConfigError, match=r"missing \['tier'\]"):
        names = _names()
        del names["tier"]
        _run(tmp_path, encoder_dir, {"toy_a": (tmp_path / "a", tmp_path / "b")}, names)
    assert not (tmp_path / "run").exists()


def test_settings_hash_names_what_changes_a_run_and_nothing_else():
    def hash_of(training=None, **kwargs):
        values = dict(seed=1, ablation_fraction=0.0, max_train_sequences=40, max_eval_sequences=24,
                      fine_tuned=False, save_encoder=False, encoder_revision=None)
        values.update(kwargs)
        return run_identity(_names(), ["toy_a", "toy_b"], training or TRAINING, "minilm", **values)[
            "settings_hash"]

    base = hash_of()
    assert len(base) == 16 and base == hash_of()
    assert hash_of({**TRAINING, "num_threads": 4, "keep_checkpoint": True}) == base
    changed = [hash_of({**TRAINING, "learning_rate": 5e-4}), hash_of(seed=2),
               hash_of(max_train_sequences=None), hash_of(ablation_fraction=0.5), hash_of(fine_tuned=True),
               hash_of(encoder_revision="abc")]
    assert base not in changed and len(set(changed)) == len(changed)
