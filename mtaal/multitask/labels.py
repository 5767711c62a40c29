"""Tags and subword labels of the wordpiece tables: the tag set, IOB2 parsing, and word decoding.

Every subword of a word carries the word's own tag; special tokens get :data:`IGNORE_LABEL` and word index
:data:`NO_WORD`. :func:`word_predictions` labels a word by its **last** subword (the paper's decoding).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from mtaal.errors import CorpusFormatError

IGNORE_LABEL = -100  # label of [CLS], [SEP] and padding (PyTorch's cross-entropy ignore_index)
NO_WORD = -1  # word_index of [CLS], [SEP] and padding
LABEL_SCHEME = "word-tag-on-every-subword"
DECODING = "last-subword"


def tag_set(entity_types: Iterable[str]) -> list[str]:
    """``O``, then ``B-x``, ``I-x`` for every entity type, types sorted."""
    tags = ["O"]
    for kind in sorted(set(entity_types)):
        tags += [f"B-{kind}", f"I-{kind}"]
    return tags


def parse_tags(unique_tags: Sequence[str], where: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct tag: prefix code (0 O, 1 B, 2 I) and entity type (None for O)."""
    prefix = np.zeros(len(unique_tags), dtype=np.int8)
    kinds = np.empty(len(unique_tags), dtype=object)
    for i, tag in enumerate(unique_tags):
        if tag == "O":
            continue
        head, sep, kind = str(tag).partition("-")
        if not sep or head not in ("B", "I") or not kind:
            raise CorpusFormatError(where, None, "IOB2 tags (O, B-<type>, I-<type>)", str(tag))
        prefix[i] = 1 if head == "B" else 2
        kinds[i] = kind
    return prefix, kinds


def _flatten(values) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values.ravel()
    values = list(values)
    if values and isinstance(values[0], list | tuple | np.ndarray | pa.Array):
        return np.concatenate([np.asarray(v).ravel() for v in values]) if values else np.zeros(0)
    return np.asarray(values).ravel()


def word_predictions(subword_preds, word_index, n_words: int | None = None, fill=IGNORE_LABEL) -> np.ndarray:
    """Each word's label: the one at its **last** subword (the paper's word-level decoding).

    ``subword_preds`` and ``word_index`` are aligned: one document's sequences as flat arrays, a list of
    per-sequence arrays (ragged), or padded 2-D arrays; positions with word index < 0 ([CLS], [SEP], padding)
    are skipped. Returns an array of ``n_words`` (default: highest word index + 1) labels, ``fill`` for a word
    that has no subword. Applied to the gold ``labels`` of a wordpiece table it gives back the words' tag ids.
    """
    preds = _flatten(subword_preds)
    words = _flatten(word_index).astype(np.int64, copy=False)
    if preds.shape != words.shape:
        raise ValueError(f"{preds.size} predictions for {words.size} word-index positions")
    keep = words >= 0
    preds, words = preds[keep], words[keep]
    size = (int(words.max()) + 1 if words.size else 0) if n_words is None else int(n_words)
    if words.size and words.max() >= size:
        raise ValueError(f"word index {int(words.max())} out of range for {size} words")
    try:
        dtype = np.result_type(preds.dtype, np.min_scalar_type(fill) if isinstance(fill, int) else type(fill))
    except TypeError:
        dtype = np.dtype(object)
    if dtype.kind in "US":
        dtype = np.dtype(object)
    out = np.full(size, fill, dtype=dtype)
    if words.size:
        # the last occurrence of each word, whatever the order: its first occurrence in the reversed arrays
        unique, first_reversed = np.unique(words[::-1], return_index=True)
        out[unique] = preds[::-1][first_reversed]
    return out

