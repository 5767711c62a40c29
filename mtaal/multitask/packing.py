"""Packing subwords into sequences of at most ``max_len`` tokens ([CLS] and [SEP] included).

The unit is a mention (a B-x word and the I-x words after it) or a lone word; a unit that does not fit
starts the next sequence whole, and only a unit longer than a whole sequence is cut (between words where
they fit). Two packings (:data:`PACKINGS`):

* ``stream`` (the paper's): each split of a dataset is one stream of documents, in document order, so a
  sequence may hold the end of one document and the start of the next. As the authors' code
  (``create_ner_dataset``), a sequence is also closed after a word outside any mention once it holds more
  than :data:`RELEASE_CLOSE_TOKENS` tokens (only possible at ``max_len`` above that).
* ``document``: sequences never cross documents (each document its own stream, no early close).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mtaal.errors import ConfigError
from mtaal.multitask.labels import parse_tags

MIN_MAX_LEN = 3  # [CLS] + one subword + [SEP]
PACKINGS = ("stream", "document")
# create_ner_dataset closes a sequence once ``len(bert_subwords) > 500`` ([CLS] and [SEP] counted) and the
# word just added is tagged O (so that a mention rarely meets the end of a 512-token sequence).
RELEASE_CLOSE_TOKENS = 500


def stream_close_after(max_len: int) -> int | None:
    """The fill, in subwords, beyond which a stream sequence closes after an outside word (the release's
    500 tokens less [CLS] and [SEP]); None where a sequence can never hold that many."""
    close_after = RELEASE_CLOSE_TOKENS - 2
    return close_after if max_len - 2 > close_after else None


@dataclass
class Packing:
    """Where every subword of a run of documents goes: ``subword_sequence[i]`` is the global sequence number
    of subword ``i`` (non-decreasing, 0..n_sequences-1, every sequence non-empty)."""

    subword_sequence: np.ndarray
    n_sequences: int
    split_units: list[int] = field(default_factory=list)  # units cut over several sequences
    split_words: list[int] = field(default_factory=list)  # words cut over several sequences


def pack_units(
    unit_doc: Sequence[int] | np.ndarray,
    unit_first_word: Sequence[int] | np.ndarray,
    word_sizes: Sequence[int] | np.ndarray,
    capacity: int,
    *,
    unit_outside: Sequence[bool] | np.ndarray | None = None,
    close_after: int | None = None,
) -> Packing:
    """Greedy packing of units (mentions or lone words, in document order) into sequences of at most
    ``capacity`` subwords. Unit ``u`` is made of the words ``unit_first_word[u]`` up to the next unit's first
    word; ``word_sizes`` gives every word's subword count. A unit that does not fit in the current sequence
    starts the next one; a unit longer than ``capacity`` starts a new sequence and is cut between words, and
    inside a word only where that word alone is longer than ``capacity``.

    ``unit_doc`` names each unit's stream (a run of equal values; a new run starts a new sequence): the
    document for per-document packing, the split for stream packing. ``close_after``: a sequence is also
    closed after a unit marked in ``unit_outside`` (a word tagged O) once it holds more than that many
    subwords (the release's rule, :func:`stream_close_after`)."""
    if capacity < 1:
        raise ConfigError(f"max_len leaves no room for subwords (capacity {capacity})")
    word_sizes = np.asarray(word_sizes, dtype=np.int64)
    first = np.asarray(unit_first_word, dtype=np.int64)
    n_units = len(first)
    if n_units and (first[0] != 0 or (np.diff(first) <= 0).any() or first[-1] >= len(word_sizes)):
        raise ValueError("unit_first_word must start at 0 and increase within the words")
    if (word_sizes < 1).any():
        raise ValueError("every word needs at least one subword")
    bounds = np.append(first, len(word_sizes))
    word_starts = np.zeros(len(word_sizes) + 1, dtype=np.int64)
    np.cumsum(word_sizes, out=word_starts[1:])
    sub_bounds = word_starts[bounds]
    sizes = np.diff(sub_bounds)
    unit_seq = np.empty(n_units, dtype=np.int64)
    overrides: dict[int, np.ndarray] = {}
    split_units: list[int] = []
    split_words: list[int] = []
    # units u..k-1 fit in a sequence already holding ``fill`` subwords iff
    # sub_bounds[k] - sub_bounds[u] <= capacity - fill: one binary search per sequence, not a step per unit
    docs = np.asarray(unit_doc)
    if len(docs) != n_units:
        raise ValueError(f"{len(docs)} unit documents for {n_units} units")
    next_outside = None
    if close_after is not None:
        if unit_outside is None or len(unit_outside) != n_units:
            raise ValueError("close_after needs unit_outside, one flag per unit")
        # next_outside[i]: the first outside unit at or after i (n_units: none)
        outside_at = np.flatnonzero(np.asarray(unit_outside, dtype=bool))
        next_outside = np.append(outside_at, n_units)[np.searchsorted(outside_at, np.arange(n_units))]
    run_starts = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]]) if n_units else np.zeros(0, np.int64)
    run_ends = np.append(run_starts[1:], n_units) if n_units else run_starts
    seq = -1
    for doc_first, end in zip(run_starts.tolist(), run_ends.tolist(), strict=True):
        u = doc_first
        seq += 1
        fill = 0
        while u < end:
            target = int(sub_bounds[u]) + capacity - fill
            k = min(int(np.searchsorted(sub_bounds, target, side="right")) - 1, end)
            if k > u and next_outside is not None:
                # the first unit after which the fill passes close_after, then the first outside unit
                over = int(np.searchsorted(sub_bounds, int(sub_bounds[u]) + close_after - fill, side="right"))
                first_over = max(over - 1, u)
                if first_over < n_units:
                    k = min(k, int(next_outside[first_over]) + 1)
            if k > u:
                unit_seq[u:k] = seq
                fill += int(sub_bounds[k] - sub_bounds[u])
                u = k
                if u < end:  # unit u does not fit: next sequence
                    seq += 1
                    fill = 0
                continue
            if fill:  # (after a cut unit) unit u does not fit in the rest: next sequence
                seq += 1
                fill = 0
                continue
            # unit u alone is longer than a sequence: cut it, between words where possible
            where: list[np.ndarray] = []
            for w in range(int(bounds[u]), int(bounds[u + 1])):
                length = int(word_sizes[w])
                if fill + length <= capacity:
                    fill += length
                elif length <= capacity:
                    seq += 1
                    fill = length
                else:  # a word longer than a sequence: cut it too
                    if fill:
                        seq += 1
                    chunks = -(-length // capacity)
                    where.append(seq + np.arange(length, dtype=np.int64) // capacity)
                    seq += chunks - 1
                    fill = length - (chunks - 1) * capacity
                    split_words.append(w)
                    continue
                where.append(np.full(length, seq, dtype=np.int64))
            overrides[u] = np.concatenate(where)
            split_units.append(u)
            unit_seq[u] = seq
            u += 1
    subword_sequence = np.repeat(unit_seq, sizes)
    for u, values in overrides.items():
        subword_sequence[sub_bounds[u] : sub_bounds[u + 1]] = values
    return Packing(subword_sequence, seq + 1, split_units, split_words)


def pack_words(
    word_sizes: np.ndarray,
    unit_start: np.ndarray,
    word_stream: np.ndarray,
    word_outside: np.ndarray,
    max_len: int,
    packing: str,
) -> Packing:
    """:func:`pack_units` of words in document order under ``packing``: ``unit_start`` marks the first word
    of every unit (:func:`unit_starts_from_codes`), ``word_stream`` each word's stream (its document for
    ``document`` packing, its split for ``stream``; each stream's words together), ``word_outside`` the
    words tagged O (where ``stream`` may close a sequence early)."""
    if packing not in PACKINGS:
        raise ConfigError(f"packing must be one of {PACKINGS}, got {packing!r}")
    first = np.flatnonzero(unit_start)
    if packing == "document":
        return pack_units(word_stream[first], first, word_sizes, max_len - 2)
    return pack_units(
        word_stream[first], first, word_sizes, max_len - 2,
        unit_outside=word_outside[first], close_after=stream_close_after(max_len),
    )


def pack_document(word_lengths: Sequence[int], word_tags: Sequence[str], max_len: int) -> list[list[int]]:
    """Reference form for one document: the word indices of each sequence (a word cut over sequences is listed
    in each). Units as in :func:`build_wordpiece`: a B-x word and its I-x continuation, or a lone word."""
    if max_len < MIN_MAX_LEN:
        raise ConfigError(f"max_len must be at least {MIN_MAX_LEN}, got {max_len}")
    lengths = np.asarray(word_lengths, dtype=np.int64)
    if len(lengths) == 0:
        return []
    if (lengths < 1).any():
        raise ValueError("every word needs at least one subword")
    first = np.flatnonzero(unit_starts(np.zeros(len(lengths), dtype=np.int64), list(word_tags)))
    packing = pack_units(np.zeros(len(first), dtype=np.int64), first, lengths, max_len - 2)
    word_of_subword = np.repeat(np.arange(len(lengths)), lengths)
    out: list[list[int]] = [[] for _ in range(packing.n_sequences)]
    pairs = zip(word_of_subword.tolist(), packing.subword_sequence.tolist(), strict=True)
    for word, seq in sorted(set(pairs)):
        out[seq].append(word)
    return out


def unit_starts(doc: np.ndarray, tags: Sequence[str] | np.ndarray) -> np.ndarray:
    """True where a packing unit starts: every word except an I-x word that continues the previous word's
    x mention (previous word in the same document, tagged B-x or I-x)."""
    tags = np.asarray(tags, dtype=object)
    if len(tags) == 0:
        return np.zeros(0, dtype=bool)
    unique, codes = np.unique(tags.astype(str), return_inverse=True)
    prefix, kinds = parse_tags(list(unique), "<tags>")
    return unit_starts_from_codes(np.asarray(doc), prefix[codes], kinds[codes])


def unit_starts_from_codes(doc: np.ndarray, prefix: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """:func:`unit_starts` on parsed tags: ``prefix`` 0 O / 1 B / 2 I, ``kind`` the entity type per word."""
    starts = np.ones(len(doc), dtype=bool)
    if len(doc) > 1:
        continues = (
            (prefix[1:] == 2) & (prefix[:-1] != 0) & (doc[1:] == doc[:-1]) & (kind[1:] == kind[:-1])
        )
        starts[1:] = ~continues
    return starts

