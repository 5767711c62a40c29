"""Test-set scores for NER and NEN: the corrected ones, and the authors' release computations by name.

Corrected scores pool the whole test set (no per-batch averaging, no sentence dropped):

* NER: entity-level strict IOB2 precision / recall / F1 (``seqeval``'s strict-mode entity extraction), per
  entity type and micro-averaged over types.
* NEN: mention-level micro precision / recall / F1. A mention is a maximal run of consecutive tokens with the
  same non-O concept label, read from the NEN label sequence, gold and predicted alike (the NEN decoder
  tags every token with a concept id or O, so no NER output is involved). A predicted mention is correct
  when a gold mention has the same sentence, start, end and concept id.

Query statistics (:func:`query_statistics`, paper Table 4) describe the sentences a run has queried so far:
how many were selected, and over the distinct ones the distinct words, the entity mentions (``B-`` tags) and
the sentences holding one (the share's denominator is the distinct sentences).

Release-compatible variants (``release_*``) reproduce what the release's ``main.py`` reports: the test
sentences, in the order given, are cut into full batches of ``batch_size`` (32), the last partial batch is
dropped, each batch's sentences are concatenated into one token sequence, a score is computed per batch and
the scores are averaged over batches. NER uses the release's conlleval-style chunking (``evaluate.py``: an
``I-`` after ``O`` opens a chunk; a batch with no gold and no predicted chunk scores 0). Its "NEN F1" is
token accuracy over concept-id tags with O tokens included. The release also shuffles the test set first;
shuffle before calling to mimic that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from seqeval.scheme import IOB2, Entities

from mtaal.scoring import PRF

BATCH_SIZE = 32


@dataclass(frozen=True)
class NERScores:
    micro: PRF
    per_type: dict[str, PRF]

    def as_dict(self) -> dict:
        return {"micro": self.micro.as_dict(), "per_type": {t: s.as_dict() for t, s in self.per_type.items()}}


def _check_aligned(gold: Sequence[Sequence], pred: Sequence[Sequence]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold labels but {len(p)} predicted")


def ner_entities(tags: Sequence[Sequence[str]]) -> set[tuple[int, str, int, int]]:
    """Strict IOB2 entities as (sentence, type, start, end-exclusive), via seqeval."""
    found = Entities([list(map(str, seq)) for seq in tags], IOB2, suffix=False)
    return {(e.sent_id, e.tag, e.start, e.end) for sent in found.entities for e in sent}


def iob2_mentions(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """One sentence's strict IOB2 mentions in order: (start, end-exclusive, type)."""
    return sorted((start, end, tag) for _, tag, start, end in ner_entities([tags]))


def ner_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> NERScores:
    """Entity-level strict IOB2 P/R/F1 over the whole set: per type and micro."""
    _check_aligned(gold, pred)
    gold_ents, pred_ents = ner_entities(gold), ner_entities(pred)
    hits = gold_ents & pred_ents
    types = sorted({e[1] for e in gold_ents | pred_ents})
    count = lambda ents, t: sum(1 for e in ents if e[1] == t)  # noqa: E731
    per_type = {t: PRF(count(hits, t), count(pred_ents, t), count(gold_ents, t)) for t in types}
    return NERScores(micro=PRF(len(hits), len(pred_ents), len(gold_ents)), per_type=per_type)


def concept_mentions(labels: Sequence[Hashable], outside: Hashable = "O") -> list[tuple[int, int, Hashable]]:
    """Maximal runs of one non-``outside`` label: (start, end-exclusive, label)."""
    mentions = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if labels[start] != outside:
                mentions.append((start, i, labels[start]))
            start = i
    return mentions


def nen_scores(
    gold: Sequence[Sequence[Hashable]], pred: Sequence[Sequence[Hashable]], outside: Hashable = "O"
) -> PRF:
    """Mention-level micro P/R/F1 of NEN label sequences (span and concept id must both match)."""
    _check_aligned(gold, pred)

    def mentions(seqs: Sequence[Sequence[Hashable]]) -> set:
        return {(i, *m) for i, seq in enumerate(seqs) for m in concept_mentions(list(seq), outside)}

    gold_m, pred_m = mentions(gold), mentions(pred)
    return PRF(len(gold_m & pred_m), len(pred_m), len(gold_m))


# ------------------------------------------------------------------------------------------ release variants


def release_chunks(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """Chunks (type, first, last inclusive) as the release's ``evaluate.chunk_finder`` finds them."""
    tags = [str(t) for t in tags]
    chunks: set[tuple[str, int, int]] = set()
    for tag in sorted({t.split("-", 1)[-1] for t in tags if t != "O"}):
        begin, inside = f"B-{tag}", f"I-{tag}"
        open_at: int | None = None
        prev = "O"
        for i, cur in enumerate(tags):
            prev_in = prev.split("-", 1)[-1] == tag
            cur_in = cur.split("-", 1)[-1] == tag
            if prev in (begin, inside) and (cur == begin or not cur_in) and open_at is not None:
                chunks.add((tag, open_at, i - 1))
                open_at = None
            if (not prev_in and cur in (begin, inside)) or (prev in (begin, inside) and cur == begin):
                open_at = i
            prev = cur
        if open_at is not None:
            chunks.add((tag, open_at, len(tags) - 1))
    return chunks


def release_conlleval_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    """The release's total F1 (as a fraction) for one flat tag sequence; 0 when nothing to score."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold tags but {len(pred)} predicted")
    g, p = release_chunks(gold), release_chunks(pred)
    return PRF(len(g & p), len(p), len(g)).f1


def _full_batches(n: int, batch_size: int) -> list[range]:
    return [range(start, start + batch_size) for start in range(0, n - n % batch_size, batch_size)]


def release_ner_f1_batch_mean(
    gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], batch_size: int = BATCH_SIZE
) -> float:
    """Release "NER F1": conlleval-style F1 per full batch (sentences concatenated), averaged over batches.

    NaN when there is no full batch (the release would average an empty list).
    """
    _check_aligned(gold, pred)
    scores = [
        release_conlleval_f1([t for i in b for t in gold[i]], [t for i in b for t in pred[i]])
        for b in _full_batches(len(gold), batch_size)
    ]
    return float(np.mean(scores)) if scores else float("nan")


def release_nen_token_accuracy_batch_mean(
    gold: Sequence[Sequence[Hashable]], pred: Sequence[Sequence[Hashable]], batch_size: int = BATCH_SIZE
) -> float:
    """Release "NEN F1": token accuracy over concept-id tags, O tokens included, per full batch, averaged."""
    _check_aligned(gold, pred)
    scores = []
    for b in _full_batches(len(gold), batch_size):
        pairs = Counter(g == p for i in b for g, p in zip(gold[i], pred[i], strict=True))
        scores.append(pairs[True] / (pairs[True] + pairs[False]))
    return float(np.mean(scores)) if scores else float("nan")


# ---------------------------------------------------------------- what a model that learned nothing scores

TEST_METRICS = (
    "ner_precision",
    "ner_recall",
    "ner_f1",
    "nen_precision",
    "nen_recall",
    "nen_f1",
    "release_ner_f1_batch_mean",
    "release_nen_token_accuracy_batch_mean",
)
ALL_O_PREFIX = "all_o_"
ALL_O_METRICS = tuple(ALL_O_PREFIX + name for name in TEST_METRICS)


def all_outside_scores(
    ner_gold: Sequence[Sequence[str]] | None = None,
    nen_gold: Sequence[Sequence[Hashable]] | None = None,
    outside: str = "O",
) -> dict[str, float]:
    """Every test metric of a model that tags every token O, on the same gold (``all_o_<metric>``).

    The release's NEN "F1" counts O tokens, so this predictor already scores the share of O tokens there."""
    out: dict[str, float] = {}
    if ner_gold is not None:
        nothing = [[outside] * len(seq) for seq in ner_gold]
        micro = ner_scores(ner_gold, nothing).micro
        out.update(ner_precision=micro.precision, ner_recall=micro.recall, ner_f1=micro.f1,
                   release_ner_f1_batch_mean=release_ner_f1_batch_mean(ner_gold, nothing))
    if nen_gold is not None:
        nothing = [[outside] * len(seq) for seq in nen_gold]
        prf = nen_scores(nen_gold, nothing)
        accuracy = release_nen_token_accuracy_batch_mean(nen_gold, nothing)
        out.update(nen_precision=prf.precision, nen_recall=prf.recall, nen_f1=prf.f1,
                   release_nen_token_accuracy_batch_mean=accuracy)
    return {ALL_O_PREFIX + name: float(value) for name, value in out.items()}


# ---------------------------------------------------------------- what a run queried (paper Table 4)

QUERY_METRICS = (
    "queried_sentences",  # selections so far, a repeat (random sampling with replacement) counted again
    "queried_distinct_sentences",
    "queried_distinct_words",
    "queried_entity_mentions",
    "queried_sentences_with_entity",
)


def query_statistics(
    selected: int, words: Sequence[Sequence[str]], tags: Sequence[Sequence[str]]
) -> dict[str, int]:
    """:data:`QUERY_METRICS` of the sentences queried so far: ``selected`` selections, whose distinct
    sentences have the tokens ``words`` and the IOB2 tags ``tags`` (one list per distinct sentence)."""
    if len(words) != len(tags):
        raise ValueError(f"{len(words)} sentences of words but {len(tags)} of tags")
    mentions = [sum(str(tag).startswith("B-") for tag in sentence) for sentence in tags]
    return {
        "queried_sentences": int(selected),
        "queried_distinct_sentences": len(words),
        "queried_distinct_words": len({word for sentence in words for word in sentence}),
        "queried_entity_mentions": sum(mentions),
        "queried_sentences_with_entity": sum(count > 0 for count in mentions),
    }


# ---------------------------------------------------------------- what the labeled set cost to annotate

# Over the whole labeled set after a round (the initial set included; a repeat selection counted again):
# the annotation-cost axes beside ``labeled_count`` (sentences). A curve against sentences favours
# strategies that pick long sentences (Şapcı et al., NLE 2023): words and mentions are what a curator reads.
COST_METRICS = ("labeled_words", "labeled_mentions")


def annotation_cost(words: Sequence[Sequence[str]], tags: Sequence[Sequence[str]]) -> dict[str, int]:
    """:data:`COST_METRICS` of labeled sentences with tokens ``words`` and IOB2 tags ``tags``."""
    if len(words) != len(tags):
        raise ValueError(f"{len(words)} sentences of words but {len(tags)} of tags")
    return {
        "labeled_words": sum(len(sentence) for sentence in words),
        "labeled_mentions": sum(str(tag).startswith("B-") for sentence in tags for tag in sentence),
    }
