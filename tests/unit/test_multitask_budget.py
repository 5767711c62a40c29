"""A per-task training budget in subwords: whole sequences, a fixed seeded sample, the small tasks whole."""

import pandas as pd

from mtaal.multitask.experiment import cap_table
from mtaal.multitask.identity import run_identity


def table(lengths, eval_sequences=3):
    rows = [{"split": "train", "sequence": i, "doc_id": f"d{i}", "input_ids": list(range(n))}
            for i, n in enumerate(lengths)]
    rows += [{"split": "dev", "sequence": i, "doc_id": f"e{i}", "input_ids": [1, 2]}
             for i in range(eval_sequences)]
    return pd.DataFrame(rows)


def test_a_budget_keeps_whole_sequences_within_it_and_leaves_small_tasks_and_eval_alone():
    lengths = [50, 120, 30, 500, 80, 200, 10, 60]
    full = table(lengths)
    kept = cap_table(full, None, None, "stream", max_train_subwords=300)
    train = kept[kept["split"] == "train"]
    assert train["input_ids"].map(len).sum() <= 300 and len(train) >= 2
    assert train["sequence"].is_monotonic_increasing  # the stream's order kept
    assert set(train["input_ids"].map(len)) <= set(lengths)  # whole sequences only
    pd.testing.assert_frame_equal(kept, cap_table(full, None, None, "stream", max_train_subwords=300))
    assert len(kept[kept["split"] == "dev"]) == 3
    whole = cap_table(full, None, None, "stream", max_train_subwords=sum(lengths))
    assert len(whole[whole["split"] == "train"]) == len(lengths)
    one = cap_table(full, None, None, "stream", max_train_subwords=1)  # at least one sequence
    assert len(one[one["split"] == "train"]) == 1


def test_the_budget_enters_the_settings_hash_only_when_set():
    names = {"experiment": "stl", "group": "cll_cellline", "encoder": "minilm", "tier": "t",
             "entity_types": {"cll_cellline": "cell_line"}}
    common = dict(seed=1, ablation_fraction=0.0, max_train_sequences=None, max_eval_sequences=None,
                  fine_tuned=False, save_encoder=False, encoder_revision=None, packing="stream")
    training = {"epochs": 20, "batch_size": 25, "learning_rate": 5e-5}
    before = run_identity(names, ["cll_cellline"], training, "minilm", **common)["settings_hash"]
    unset = run_identity(names, ["cll_cellline"], training, "minilm", **common, max_train_subwords=None)
    budget = run_identity(names, ["cll_cellline"], training, "minilm", **common, max_train_subwords=60000)
    assert unset["settings_hash"] == before != budget["settings_hash"]
