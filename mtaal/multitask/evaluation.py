"""Word-level and entity-level scores for subword taggers (Rodriguez, Nguyen & McInnes, JBI 2022).

A BERT tagger predicts one tag per subword; a word is scored once, with the tag predicted at its **last**
subword (as in the paper's Tables 2-6). Gold word tags are read at the word's first labelled subword, so they
stay right whatever the subword-labelling scheme (B-x copied to continuations or turned into I-x).

Three metrics, all pooled over the whole split (no per-batch averaging):

* **Word level, as in the paper (``word_io_*``).** The authors' ``evaluate.py`` strips the B-/I- prefixes
  before scoring, so a word counts as the entity type (or O) it was tagged with: micro precision / recall /
  F1 over the entity types, O excluded. With one entity type per HUNER task this is entity vs O per word;
  ``B-x`` predicted for a gold ``I-x`` is a hit. This is the metric the paper's Tables 2-6 print.
* **Word level, tag-strict (``word_*``).** Micro-averaged precision / recall / F1 over all non-O tags, B-x and
  I-x being separate tags. Equivalently, over the words whose gold or predicted tag is not O:
  ``tp`` = words with ``pred == gold != O``; ``n_pred`` = words with ``pred != O``;
  ``n_gold`` = words with ``gold != O``; ``P = tp / n_pred``, ``R = tp / n_gold``, ``F1`` their harmonic mean.
  Words whose gold and predicted tags are both O do not count (no inflation by O accuracy).
* **Entity level.** Strict IOB2 spans (``seqeval``, ``mode="strict"``, ``scheme=IOB2``): a predicted entity
  counts only when a gold entity has the same type, start and end. ``seqeval`` is called gold first,
  predictions second (the authors' code swaps them, which exchanges precision and recall).

A word that reached the model without its last subword (cut by truncation) or not at all counts as
predicted O; the gold tags of wholly missing words can only be known from ``gold_tags`` (see
:func:`words_from_sequences`). Every score is 0 where its denominator is 0.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from seqeval.metrics.v1 import precision_recall_fscore_support
from seqeval.scheme import IOB2

from mtaal.active.metrics import ALL_O_PREFIX
from mtaal.multitask.labels import IGNORE_LABEL
from mtaal.scoring import PRF

OUTSIDE = "O"
WORD_IO_PRF = ("word_io_precision", "word_io_recall", "word_io_f1")
METRICS = (
    *WORD_IO_PRF,
    "word_precision",
    "word_recall",
    "word_f1",
    "entity_precision",
    "entity_recall",
    "entity_f1",
)
# What a tagger that predicts O for every word scores under each metric, on the same split.
ALL_O_METRICS = tuple(ALL_O_PREFIX + m for m in METRICS)


# -------------------------------------------------------------------------------- subwords -> words


DECODINGS = ("last", "first")


def last_subword_predictions(
    word_index: Sequence[int], predicted: Sequence[int], decoding: str = "last"
) -> dict[int, int]:
    """``{word: predicted label id at its last subword}`` for one sequence (word -1 positions skipped);
    ``decoding="first"``: at its first subword, what the authors' ``MultiTaskingBert.predict`` keeps (its
    loop over subwords runs in reverse, so the first subword writes last), although the paper says last."""
    if len(word_index) != len(predicted):
        raise ValueError(f"word_index has {len(word_index)} positions, predictions {len(predicted)}")
    if decoding not in DECODINGS:
        raise ValueError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
    out: dict[int, int] = {}
    for word, label in zip(word_index, predicted, strict=True):
        if word >= 0 and (decoding == "last" or int(word) not in out):
            out[int(word)] = int(label)  # "last": later subwords overwrite
    return out


def first_subword_labels(word_index: Sequence[int], labels: Sequence[int]) -> dict[int, int]:
    """``{word: gold label id at its first labelled subword}`` for one sequence."""
    if len(word_index) != len(labels):
        raise ValueError(f"word_index has {len(word_index)} positions, labels {len(labels)}")
    out: dict[int, int] = {}
    for word, label in zip(word_index, labels, strict=True):
        if word >= 0 and label != IGNORE_LABEL and int(word) not in out:
            out[int(word)] = int(label)
    return out


@dataclass
class WordTags:
    """Gold and predicted word tags, one list per document, words in document order."""

    doc_ids: list[Hashable]
    gold: list[list[str]]
    pred: list[list[str]]

    @property
    def n_words(self) -> int:
        return sum(len(doc) for doc in self.gold)


def words_from_sequences(
    doc_ids: Sequence[Hashable],
    word_indices: Sequence[Sequence[int]],
    labels: Sequence[Sequence[int]],
    predictions: Sequence[Sequence[int]],
    tags: Sequence[str],
    gold_tags: Mapping[Hashable, Sequence[str]] | None = None,
    decoding: str = "last",
    doc_index: Sequence[Sequence[int]] | None = None,
) -> WordTags:
    """Gather per-sequence subword labels and predictions into per-document word tags (``decoding``: the
    prediction at a word's last subword, the paper's rule, or its first, the authors' code's).

    ``doc_ids``: each sequence's document; or, with ``doc_index`` (sequences packed from a stream of
    documents), each sequence's documents in order, and ``doc_index`` every position's index among them
    (-1 on special tokens). ``word_indices`` index words within their document. Give the sequences that
    hold one document in document order (``sequence`` ascending). A word cut over two sequences (a word
    longer than a whole sequence) is read like any other: its prediction at its last subword, in the later
    sequence, and its gold at its first labelled subword.

    ``gold_tags`` (``{doc_id: tag of every word of the document}``), when given, is the gold standard: words
    that no sequence covers are then scored too, as predicted O, and documents without any sequence as well.
    Without it, the gold is read from the sequences' labels and only the words they hold are scored.
    """
    if not (len(doc_ids) == len(word_indices) == len(labels) == len(predictions)):
        raise ValueError("doc_ids, word_indices, labels and predictions must have one entry per sequence")
    if doc_index is not None and len(doc_index) != len(doc_ids):
        raise ValueError("doc_index must have one entry per sequence")
    gold_ids: dict[Hashable, dict[int, int]] = {}
    pred_ids: dict[Hashable, dict[int, int]] = {}
    for k, (docs, words, gold_seq, pred_seq) in enumerate(
        zip(doc_ids, word_indices, labels, predictions, strict=True)
    ):
        for doc, doc_words, doc_gold, doc_pred in _document_parts(
            docs, words, gold_seq, pred_seq, None if doc_index is None else doc_index[k]
        ):
            g = gold_ids.setdefault(doc, {})
            p = pred_ids.setdefault(doc, {})
            for word, label in first_subword_labels(doc_words, doc_gold).items():
                g.setdefault(word, label)
            for word, label in last_subword_predictions(doc_words, doc_pred, decoding).items():
                if decoding == "last" or word not in p:  # a later sequence holds the later subwords
                    p[word] = label
    out = WordTags([], [], [])
    docs = list(gold_ids) if gold_tags is None else list(gold_tags)
    for doc in docs:
        predicted = pred_ids.get(doc, {})
        if gold_tags is None:
            order = sorted(gold_ids[doc])
            gold = [tags[gold_ids[doc][w]] for w in order]
        else:
            gold = [str(t) for t in gold_tags[doc]]
            order = list(range(len(gold)))
        out.doc_ids.append(doc)
        out.gold.append(gold)
        out.pred.append([tags[predicted[w]] if w in predicted else OUTSIDE for w in order])
    return out


def _document_parts(docs, words, gold, pred, doc_index) -> list[tuple]:
    """(document, word indices, gold labels, predictions) of each document a sequence holds."""
    if doc_index is None:
        return [(docs, words, gold, pred)]
    if len(docs) == 1:  # special tokens carry word -1, which is never read
        return [(docs[0], words, gold, pred)]
    index = np.asarray(doc_index)
    words, gold, pred = np.asarray(words), np.asarray(gold), np.asarray(pred)
    if not len(index) == len(words) == len(gold) == len(pred):
        raise ValueError(f"doc_index has {len(index)} positions, word_index {len(words)}")
    parts = []
    for j, doc in enumerate(docs):
        here = index == j
        parts.append((doc, words[here], gold[here], pred[here]))
    return parts


# -------------------------------------------------------------------------------- metrics


def word_counts(gold: Iterable[Sequence[str]], pred: Iterable[Sequence[str]]) -> PRF:
    """Word-level counts, micro over non-O tags (see the module docstring)."""
    tp = n_pred = n_gold = 0
    for gold_seq, pred_seq in zip(gold, pred, strict=True):
        if len(gold_seq) != len(pred_seq):
            raise ValueError(f"gold has {len(gold_seq)} words, prediction {len(pred_seq)}")
        for g, p in zip(gold_seq, pred_seq, strict=True):
            if p != OUTSIDE:
                n_pred += 1
            if g != OUTSIDE:
                n_gold += 1
                if g == p:
                    tp += 1
    return PRF(tp, n_pred, n_gold)


def strip_prefix(tag: str) -> str:
    """``B-x`` / ``I-x`` -> ``x``; O (and any tag without a prefix) unchanged."""
    return tag[2:] if tag[:2] in ("B-", "I-") else tag


def word_io_counts(gold: Iterable[Sequence[str]], pred: Iterable[Sequence[str]]) -> PRF:
    """Word-level counts after stripping B-/I- (the paper's word-level metric, see the module docstring)."""
    stripped_gold = ([strip_prefix(t) for t in seq] for seq in gold)
    stripped_pred = ([strip_prefix(t) for t in seq] for seq in pred)
    return word_counts(stripped_gold, stripped_pred)


def entity_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> tuple[float, float, float]:
    """Strict IOB2 entity precision, recall, F1 (micro over entity types) with ``seqeval``.

    This is the computation ``seqeval.metrics.precision_score(..., mode="strict", scheme=IOB2)`` dispatches
    to, done once for all three scores. Argument order matters and follows seqeval: gold (``y_true``) first,
    predictions (``y_pred``) second.
    """
    gold = [list(s) for s in gold]
    pred = [list(s) for s in pred]
    if not any(gold) and not any(pred):
        return 0.0, 0.0, 0.0
    p, r, f, _ = precision_recall_fscore_support(gold, pred, average="micro", scheme=IOB2, zero_division=0)
    return float(p), float(r), float(f)


def score_words(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """Every score of :data:`METRICS` plus the word counts behind the tag-strict word-level ones."""
    counts = word_counts(gold, pred)
    io = word_io_counts(gold, pred)
    ep, er, ef = entity_scores(gold, pred)
    return {
        "word_io_precision": io.precision,
        "word_io_recall": io.recall,
        "word_io_f1": io.f1,
        "word_precision": counts.precision,
        "word_recall": counts.recall,
        "word_f1": counts.f1,
        "entity_precision": ep,
        "entity_recall": er,
        "entity_f1": ef,
        "words": sum(len(s) for s in gold),
        "word_tp": counts.tp,
        "word_n_pred": counts.n_pred,
        "word_n_gold": counts.n_gold,
    }


def all_outside_scores(gold: Sequence[Sequence[str]]) -> dict[str, float]:
    """:data:`ALL_O_METRICS`: the scores of a tagger that predicts O for every word of ``gold``."""
    nothing = [[OUTSIDE] * len(seq) for seq in gold]
    scores = score_words(gold, nothing)
    return {ALL_O_PREFIX + m: scores[m] for m in METRICS}


def score_word_tags(words: WordTags) -> dict[str, float]:
    """:func:`score_words` of the predictions, plus :func:`all_outside_scores` of the same gold."""
    return {**score_words(words.gold, words.pred), **all_outside_scores(words.gold)}
