"""Sentences, label ids and the labeled / unlabeled / test pools of one MTAAL dataset.

Inputs are the corpus layer's outputs (see :mod:`mtaal.corpora.mtaal_split`): ``tokens.parquet`` (one row
per token), ``mtaal_split.parquet`` (one row per kept sentence with its pool) and ``mtaal_labels.json``
(words, NER tags and NEN labels seen in the labeled + unlabeled sentences, never the test ones).

Label choices:

* NER: the token's IOB2 tag. Label ids follow ``mtaal_labels.json["ner_tags"]``.
* NEN: the token's concept id string, ``"O"`` outside mentions. A concept id with alternatives (``"A|B"``)
  is one label, spelt as the corpus spells it (``mtaal_labels.json`` lists it that way too). A mention
  token *without* a concept id (BC5CDR has a few hundred) gets ``"O"`` as well: the NEN decoder learns
  "no concept here", and the NER decoder still sees the mention. Label id 0 is ``"O"``; the others follow
  ``mtaal_labels.json["nen_labels"]``.
* A test token whose tag or concept is not in those label sets gets :data:`UNK_LABEL` (-1), a reserved id
  outside the model's output layer: the model can never predict it, so such a token always counts as an
  error. Evaluation compares label *strings* (``ner_gold`` / ``nen_gold``, the original gold labels) with
  the predicted ones, so unseen gold labels stay in the gold mentions instead of being dropped.
  A labeled or unlabeled sentence with a label missing from the label sets means the label file belongs to
  other data: :class:`~mtaal.errors.ConfigError`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mtaal.errors import ConfigError

OUTSIDE = "O"
UNK_LABEL = -1
POOLS = ("labeled", "unlabeled", "test")
SeedLike = int | np.random.SeedSequence


@dataclass
class ALData:
    """One dataset's sentences in ``mtaal_split.parquet`` order, and its three pools (sentence ids).

    ``words[i]``, ``ner[i]``, ``nen[i]``, ``ner_gold[i]`` and ``nen_gold[i]`` belong to ``sentence_ids[i]``;
    :meth:`index` maps a sentence id to ``i``.
    """

    sentence_ids: list[str]
    words: list[list[str]]
    ner: list[list[int]]
    nen: list[list[int]]
    ner_gold: list[list[str]]
    nen_gold: list[list[str]]
    ner_labels: list[str]
    nen_labels: list[str]
    vocab_words: list[str]
    labeled: list[str]
    unlabeled: list[str]
    test: list[str]
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {sid: i for i, sid in enumerate(self.sentence_ids)}
        if len(self._index) != len(self.sentence_ids):
            raise ConfigError("ALData: sentence ids are not unique")
        pools = self.labeled + self.unlabeled + self.test
        if len(set(pools)) != len(pools):
            raise ConfigError("ALData: a sentence is in more than one pool")
        missing = [sid for sid in pools if sid not in self._index]
        if missing:
            raise ConfigError(f"ALData: pool sentences without tokens, e.g. {missing[:3]}")

    def index(self, sentence_id: str) -> int:
        return self._index[sentence_id]

    def indices(self, sentence_ids: list[str]) -> list[int]:
        return [self._index[sid] for sid in sentence_ids]

    def fingerprint(self) -> str:
        """sha256 over sentence ids, words, label ids, label sets and pools (a checkpoint checks it)."""
        digest = hashlib.sha256()
        payload = [
            self.sentence_ids, self.words, self.ner, self.nen, self.ner_labels, self.nen_labels,
            self.vocab_words, self.labeled, self.unlabeled, self.test,
        ]
        for part in payload:
            digest.update(json.dumps(part, ensure_ascii=False, separators=(",", ":")).encode())
            digest.update(b"\x00")
        return digest.hexdigest()

    def subset(
        self,
        *,
        max_pool_sentences: int | None = None,
        max_test_sentences: int | None = None,
        max_labeled_sentences: int | None = None,
        pool_seed: SeedLike = 0,
        test_seed: SeedLike = 0,
        labeled_seed: SeedLike = 0,
    ) -> ALData:
        """A copy with a seeded sample of the unlabeled pool, the test set and / or the initial labeled set
        (order kept); small tiers use it to shrink the release's 20% seed set.

        Seeds are anything ``numpy.random.default_rng`` takes. The test sample's seed is separate so runs
        with different seeds can share one test sample.
        """
        labeled = _sample(self.labeled, max_labeled_sentences, labeled_seed)
        unlabeled = _sample(self.unlabeled, max_pool_sentences, pool_seed)
        test = _sample(self.test, max_test_sentences, test_seed)
        return ALData(
            sentence_ids=self.sentence_ids, words=self.words, ner=self.ner, nen=self.nen,
            ner_gold=self.ner_gold, nen_gold=self.nen_gold, ner_labels=self.ner_labels,
            nen_labels=self.nen_labels, vocab_words=self.vocab_words, labeled=labeled,
            unlabeled=unlabeled, test=test,
        )


def _sample(ids: list[str], limit: int | None, seed: SeedLike) -> list[str]:
    if limit is None or limit >= len(ids):
        return list(ids)
    if limit < 1:
        raise ConfigError(f"ALData.subset: a sample size must be at least 1, got {limit}")
    keep = np.sort(np.random.default_rng(seed).choice(len(ids), size=limit, replace=False))
    return [ids[i] for i in keep]


def load_al_data(tokens_path: str | Path, split_path: str | Path, labels_path: str | Path) -> ALData:
    """Read the corpus layer's MTAAL files into an :class:`ALData`."""
    labels = json.loads(Path(labels_path).read_text(encoding="utf-8"))
    for key in ("words", "ner_tags", "nen_labels"):
        if key not in labels:
            raise ConfigError(f"{labels_path}: no {key!r} list")
    ner_labels = list(labels["ner_tags"])
    nen_labels = [OUTSIDE] + [label for label in labels["nen_labels"] if label != OUTSIDE]
    ner_ids = {label: i for i, label in enumerate(ner_labels)}
    nen_ids = {label: i for i, label in enumerate(nen_labels)}

    split = pd.read_parquet(split_path, columns=["doc_id", "sentence", "sentence_id", "split"])
    unknown = set(split["split"]) - set(POOLS)
    if unknown:
        raise ConfigError(f"{split_path}: unknown pool names {sorted(unknown)}; expected {POOLS}")
    tokens = pd.read_parquet(tokens_path, columns=["doc_id", "sentence", "position", "token", "tag",
                                                   "concept_id"])
    tokens = tokens.merge(split[["doc_id", "sentence", "sentence_id"]], on=["doc_id", "sentence"])
    tokens = tokens.sort_values(["sentence_id", "position"], kind="stable")
    # A mention token without a concept id, and every O token, gets the NEN label "O".
    has_concept = tokens["concept_id"].notna() & tokens["tag"].ne(OUTSIDE)
    token_col = tokens["token"].to_numpy()
    tag_col = tokens["tag"].to_numpy()
    concept_col = tokens["concept_id"].where(has_concept, OUTSIDE).to_numpy()
    ids_col = tokens["sentence_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids_col[1:] != ids_col[:-1]]) if len(ids_col) else np.zeros(0, int)
    ends = np.r_[starts[1:], len(ids_col)]
    bounds = {ids_col[lo]: (lo, hi) for lo, hi in zip(starts, ends, strict=True)}

    pool_of = dict(zip(split["sentence_id"], split["split"], strict=True))
    data: dict[str, list] = {k: [] for k in ("ids", "words", "ner", "nen", "ner_gold", "nen_gold")}
    for sid in split["sentence_id"]:
        if sid not in bounds:
            raise ConfigError(f"{split_path}: sentence {sid} has no tokens in {tokens_path}")
        lo, hi = bounds[sid]
        tags = [str(t) for t in tag_col[lo:hi]]
        concepts = [str(c) for c in concept_col[lo:hi]]
        ner = [ner_ids.get(t, UNK_LABEL) for t in tags]
        nen = [nen_ids.get(c, UNK_LABEL) for c in concepts]
        if pool_of[sid] != "test" and (UNK_LABEL in ner or UNK_LABEL in nen):
            bad = sorted({t for t in tags if t not in ner_ids} | {c for c in concepts if c not in nen_ids})
            raise ConfigError(
                f"{labels_path}: {pool_of[sid]} sentence {sid} has labels {bad[:5]} missing from the label "
                "sets; the label file was built from other data"
            )
        data["ids"].append(sid)
        data["words"].append([str(w) for w in token_col[lo:hi]])
        data["ner"].append(ner)
        data["nen"].append(nen)
        data["ner_gold"].append(tags)
        data["nen_gold"].append(concepts)
    pools = {name: split.loc[split["split"] == name, "sentence_id"].tolist() for name in POOLS}
    return ALData(
        sentence_ids=data["ids"], words=data["words"], ner=data["ner"], nen=data["nen"],
        ner_gold=data["ner_gold"], nen_gold=data["nen_gold"], ner_labels=ner_labels, nen_labels=nen_labels,
        vocab_words=list(labels["words"]), **pools,
    )
