"""The MTAAL sentence pool: labeled seed set, unlabeled pool and test set, as in the authors' release.

The release pools every official subset, keeps sentences with more than ``min_words`` and fewer than
``max_words`` words, shuffles them and cuts 20% labeled / 70% unlabeled / 10% test. ``official`` mode keeps
the release's test subset as test and cuts train+dev into labeled / unlabeled in the same proportion.
Vocabulary and label sets come from the labeled and unlabeled sentences only, unless ``vocab_from_test``
asks for the release's behaviour (which also reads the test sentences).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from mtaal.errors import ConfigError
from mtaal.io import write_json, write_parquet

POOL_SPLITS = ("labeled", "unlabeled", "test")


def sentence_table(tokens: pd.DataFrame) -> pd.DataFrame:
    """One row per sentence in document order: doc_id, sentence, release split, word count."""
    grouped = tokens.groupby(["doc_id", "sentence"], sort=False)
    sentences = grouped.agg(release_split=("split", "first"), n_words=("token", "size")).reset_index()
    sentences["sentence_id"] = sentences["doc_id"] + ":" + sentences["sentence"].astype(str)
    return sentences


def assign_pool(sentences: pd.DataFrame, settings: Mapping) -> pd.DataFrame:
    """Filter by length and assign each kept sentence to labeled / unlabeled / test (seeded)."""
    labeled, unlabeled, test = (settings[f"{name}_fraction"] for name in POOL_SPLITS)
    if settings["split_mode"] == "pooled" and abs(labeled + unlabeled + test - 1.0) > 1e-6:  # as check_config
        raise ConfigError(
            f"mtaal_data: labeled_fraction + unlabeled_fraction + test_fraction must be 1 (within 1e-6), got "
            f"{labeled:.10g} + {unlabeled:.10g} + {test:.10g} = {labeled + unlabeled + test:.10g}"
        )
    kept = sentences[
        (sentences["n_words"] > settings["min_words"]) & (sentences["n_words"] < settings["max_words"])
    ]
    kept = kept.reset_index(drop=True)
    rng = np.random.default_rng(settings["seed"])
    split = np.empty(len(kept), dtype=object)
    if settings["split_mode"] == "pooled":
        order = rng.permutation(len(kept))
        n_labeled = round(labeled * len(kept))
        n_test = round(test * len(kept))
        split[order[:n_labeled]] = "labeled"
        split[order[n_labeled : len(kept) - n_test]] = "unlabeled"
        split[order[len(kept) - n_test :]] = "test"
    elif settings["split_mode"] == "official":
        is_test = (kept["release_split"] == "test").to_numpy()
        split[is_test] = "test"
        train_rows = np.flatnonzero(~is_test)[rng.permutation(int((~is_test).sum()))]
        n_labeled = round(labeled / (labeled + unlabeled) * len(train_rows))
        split[train_rows[:n_labeled]] = "labeled"
        split[train_rows[n_labeled:]] = "unlabeled"
    else:
        raise ConfigError(f"mtaal_data.split_mode: unknown value {settings['split_mode']!r}")
    return kept.assign(split=split)


def label_sets(tokens: pd.DataFrame, pool: pd.DataFrame, vocab_from_test: bool) -> dict:
    """Words, NER tags and NEN concept labels seen in the sentences allowed to define them."""
    allowed = pool if vocab_from_test else pool[pool["split"] != "test"]
    keys = pd.MultiIndex.from_frame(allowed[["doc_id", "sentence"]])
    seen = tokens[pd.MultiIndex.from_frame(tokens[["doc_id", "sentence"]]).isin(keys)]
    return {
        "source_splits": sorted(allowed["split"].unique().tolist()),
        "words": sorted(seen["token"].unique().tolist()),
        "ner_tags": sorted(seen["tag"].unique().tolist()),
        "nen_labels": sorted(seen["concept_id"].dropna().unique().tolist()),
    }


def build_mtaal_split(
    tokens_path: Path, split_path: Path, labels_path: Path, settings: Mapping
) -> pd.DataFrame:
    tokens = pd.read_parquet(
        tokens_path, columns=["doc_id", "split", "sentence", "token", "tag", "concept_id"]
    )
    pool = assign_pool(sentence_table(tokens), settings)
    write_parquet(pa.Table.from_pandas(pool, preserve_index=False), split_path)
    labels = label_sets(tokens, pool, settings["vocab_from_test"])
    labels["settings"] = dict(settings)
    labels["counts"] = pool["split"].value_counts().reindex(POOL_SPLITS, fill_value=0).to_dict()
    write_json(labels, labels_path)
    return pool
