import pandas as pd
import pytest

from mtaal.corpora.mtaal_split import assign_pool, label_sets, sentence_table
from mtaal.errors import ConfigError

SETTINGS = {
    "split_mode": "pooled", "min_words": 5, "max_words": 60, "labeled_fraction": 0.2,
    "unlabeled_fraction": 0.7, "test_fraction": 0.1, "seed": 7, "vocab_from_test": False,
}


def make_tokens(n_sentences=50, words=8):
    rows = []
    for s in range(n_sentences):
        split = "test" if s % 5 == 0 else "train"
        n = 3 if s == 0 else 60 if s == 1 else words  # one too short, one too long
        for p in range(n):
            tag = "B-disease" if p == 0 else "O"
            rows.append({"doc_id": f"d{s // 10}", "split": split, "sentence": s % 10, "token": f"w{s}_{p}",
                         "tag": tag, "concept_id": f"C{s}" if p == 0 else None})
    return pd.DataFrame(rows)


def test_length_filter_is_exclusive_and_ratios_hold():
    pool = assign_pool(sentence_table(make_tokens()), SETTINGS)
    assert len(pool) == 48 and pool["n_words"].between(6, 59).all()
    assert pool["split"].value_counts().to_dict() == {"unlabeled": 33, "labeled": 10, "test": 5}


def test_same_seed_same_split_other_seed_differs():
    sentences = sentence_table(make_tokens())
    first = assign_pool(sentences, SETTINGS)["split"].tolist()
    assert assign_pool(sentences, SETTINGS)["split"].tolist() == first
    assert assign_pool(sentences, {**SETTINGS, "seed": 8})["split"].tolist() != first


def test_official_mode_keeps_release_test_set():
    pool = assign_pool(sentence_table(make_tokens()), {**SETTINGS, "split_mode": "official"})
    assert set(pool.loc[pool["split"] == "test", "release_split"]) == {"test"}
    assert set(pool.loc[pool["split"] != "test", "release_split"]) == {"train"}
    assert (pool["split"] == "labeled").sum() == round(0.2 / 0.9 * (pool["release_split"] == "train").sum())


def test_label_sets_exclude_test_sentences_unless_release_behaviour_requested():
    tokens = make_tokens()
    pool = assign_pool(sentence_table(tokens), SETTINGS)
    test_words = set(tokens.merge(pool[pool["split"] == "test"][["doc_id", "sentence"]])["token"])
    clean = label_sets(tokens, pool, vocab_from_test=False)
    leaky = label_sets(tokens, pool, vocab_from_test=True)
    assert not test_words & set(clean["words"])
    assert test_words <= set(leaky["words"])
    assert len(leaky["nen_labels"]) == len(clean["nen_labels"]) + 5


def test_fractions_must_sum_to_one():
    with pytest.raises(ConfigError, match="labeled_fraction"):
        assign_pool(sentence_table(make_tokens()), {**SETTINGS, "test_fraction": 0.2})
