"""Word / character ids and padded batches for the MTAAL network (:mod:`mtaal.active.network`).

Sentences become right-padded id tensors with a token mask; training batches come from a seeded shuffle
(optionally grouped by length, :func:`bucket_order`), scoring batches are length-sorted for minimal padding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import torch
from torch import Tensor

PAD_ID = 0
UNK_ID = 1
IGNORE_INDEX = -100
BATCH_SIZE = 32  # the authors' release (params.py)


# -------------------------------------------------------------------------------- vocabulary


@dataclass
class Vocab:
    """Word and character ids; 0 is padding and 1 is unknown in both tables.

    The release lower-cases words and characters before lookup; both are flags here.
    """

    words: dict[str, int]
    chars: dict[str, int]
    lowercase_words: bool = True
    lowercase_chars: bool = True

    @classmethod
    def build(
        cls, sentences: Iterable[Sequence[str]], *, lowercase_words: bool = True, lowercase_chars: bool = True
    ) -> Vocab:
        """Ids in order of first appearance after the two reserved ones (deterministic for a given input)."""
        words: dict[str, int] = {"<pad>": PAD_ID, "<unk>": UNK_ID}
        chars: dict[str, int] = {"<pad>": PAD_ID, "<unk>": UNK_ID}
        for sentence in sentences:
            for token in sentence:
                word = token.lower() if lowercase_words else token
                words.setdefault(word, len(words))
                for ch in token.lower() if lowercase_chars else token:
                    chars.setdefault(ch, len(chars))
        return cls(words, chars, lowercase_words, lowercase_chars)

    def word_id(self, token: str) -> int:
        return self.words.get(token.lower() if self.lowercase_words else token, UNK_ID)

    def char_ids(self, token: str) -> list[int]:
        text = token.lower() if self.lowercase_chars else token
        return [self.chars.get(ch, UNK_ID) for ch in text] or [UNK_ID]

    def embedding_matrix(
        self, vectors: Mapping[str, Sequence[float]] | None, dim: int, *, seed: int = 0, scale: float = 0.1
    ) -> np.ndarray:
        """A (len(words), dim) float32 matrix: given vectors where known, else N(0, scale²); padding zero."""
        rng = np.random.default_rng(seed)
        matrix = rng.normal(0.0, scale, size=(len(self.words), dim)).astype(np.float32)
        matrix[PAD_ID] = 0.0
        for word, idx in self.words.items():
            if vectors is not None and idx > UNK_ID and word in vectors:
                matrix[idx] = np.asarray(vectors[word], dtype=np.float32)
        return matrix


# -------------------------------------------------------------------------------- batches


class SpellingTable:
    """The distinct spellings (character id rows) of the tokens added, in order of first appearance.

    Row 0 is the padding spelling (no characters); a token's row is its index into the table. The char
    BiLSTM runs once per row (:class:`~mtaal.active.network.CharEncoder`), so a batch, or a whole pool
    scored with one table, computes each spelling once however often it recurs.
    """

    def __init__(self, vocab: Vocab, max_word_chars: int | None = None):
        self.vocab = vocab
        self.max_word_chars = max_word_chars
        self._rows: list[list[int]] = [[]]
        self._by_ids: dict[tuple[int, ...], int] = {}
        self._by_token: dict[str, int] = {}
        self._tensors: tuple[Tensor, Tensor] | None = None

    def row(self, token: str) -> int:
        found = self._by_token.get(token)
        if found is None:
            ids = tuple(self.vocab.char_ids(token)[: self.max_word_chars])
            found = self._by_ids.get(ids)
            if found is None:
                found = self._by_ids[ids] = len(self._rows)
                self._rows.append(list(ids))
                self._tensors = None
            self._by_token[token] = found
        return found

    def add(self, sentences: Iterable[Sequence[str]]) -> SpellingTable:
        for sentence in sentences:
            for token in sentence:
                self.row(token)
        return self

    def tensors(self) -> tuple[Tensor, Tensor]:
        """(chars (N, C) long, right-padded with PAD_ID; lengths (N,) long), row 0 all padding, length 0."""
        if self._tensors is None:
            lengths = np.array([len(r) for r in self._rows], dtype=np.int64)
            chars = np.zeros((len(self._rows), max(1, int(lengths.max()))), dtype=np.int64)
            for i, ids in enumerate(self._rows):
                chars[i, : len(ids)] = ids
            self._tensors = torch.from_numpy(chars), torch.from_numpy(lengths)
        return self._tensors


@dataclass
class Batch:
    """A padded batch. ``lengths`` and ``spelling_lengths`` stay on the CPU (the LSTMs index with them).

    Characters come as a table of distinct spellings (:class:`SpellingTable`, row 0 padding) and each
    token's row in it. ``order[j]`` is the position, in the list given to :func:`collate`, of the sentence
    in row ``j``. Label tensors hold :data:`IGNORE_INDEX` at padding.
    """

    word_ids: Tensor  # (B, S) long
    spellings: Tensor  # (N, C) long: char ids of each distinct spelling, row 0 padding
    spelling_lengths: Tensor  # (N,) long, CPU; 0 for row 0
    spelling_index: Tensor  # (B, S) long: each token's row of ``spellings``, 0 at padding
    lengths: Tensor  # (B,) long, CPU
    mask: Tensor  # (B, S) bool, True at real tokens
    ner: Tensor | None = None  # (B, S) long
    nen: Tensor | None = None  # (B, S) long
    order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.word_ids.shape[0])

    def labels(self, task: str) -> Tensor:
        found = getattr(self, task)
        if found is None:
            raise ValueError(f"batch has no {task.upper()} labels")
        return found

    def to(self, device: torch.device | str) -> Batch:
        moved = {}
        for f in fields(self):
            value = getattr(self, f.name)
            keep = f.name in ("lengths", "spelling_lengths", "order") or value is None
            moved[f.name] = value if keep else value.to(device, non_blocking=True)
        return Batch(**moved)


def length_order(lengths: Sequence[int]) -> np.ndarray:
    """Permutation sorting sentences by decreasing length; equal lengths keep their input order (stable)."""
    return np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")


def collate(
    sentences: Sequence[Sequence[str]],
    vocab: Vocab,
    ner: Sequence[Sequence[int]] | None = None,
    nen: Sequence[Sequence[int]] | None = None,
    *,
    sort_by_length: bool = False,
    max_word_chars: int | None = None,
    spellings: SpellingTable | None = None,
    device: torch.device | str = "cpu",
) -> Batch:
    """Build a right-padded :class:`Batch` from token lists and per-token label ids.

    With ``sort_by_length`` rows are ordered by decreasing length and ``Batch.order`` holds the permutation.
    ``spellings``: a table shared with other batches (its spellings are added to; the batch carries the
    whole table), else one of this batch's own; ``max_word_chars`` applies to a batch's own table.
    """
    n = len(sentences)
    if n == 0:
        raise ValueError("collate: no sentences")
    lengths = [len(s) for s in sentences]
    if min(lengths) == 0:
        raise ValueError(f"collate: sentence {lengths.index(0)} is empty")
    for name, labels in (("ner", ner), ("nen", nen)):
        if labels is not None:
            if len(labels) != n:
                raise ValueError(f"collate: {len(labels)} {name} label sequences for {n} sentences")
            for i, (tokens, ids) in enumerate(zip(sentences, labels, strict=True)):
                if len(ids) != len(tokens):
                    raise ValueError(
                        f"collate: sentence {i} has {len(tokens)} tokens and {len(ids)} {name} labels"
                    )
    order = length_order(lengths) if sort_by_length else np.arange(n)
    max_len = max(lengths)
    table = SpellingTable(vocab, max_word_chars) if spellings is None else spellings
    word_ids = np.zeros((n, max_len), dtype=np.int64)
    spelling_index = np.zeros((n, max_len), dtype=np.int64)
    for row, i in enumerate(order):
        word_ids[row, : lengths[i]] = [vocab.word_id(tok) for tok in sentences[i]]
        spelling_index[row, : lengths[i]] = [table.row(tok) for tok in sentences[i]]
    chars, char_lengths = table.tensors()

    def label_tensor(labels: Sequence[Sequence[int]] | None) -> Tensor | None:
        if labels is None:
            return None
        out = np.full((n, max_len), IGNORE_INDEX, dtype=np.int64)
        for row, i in enumerate(order):
            out[row, : lengths[i]] = labels[i]
        return torch.from_numpy(out).to(device)

    lengths_t = torch.tensor([lengths[i] for i in order], dtype=torch.long)
    return Batch(
        word_ids=torch.from_numpy(word_ids).to(device),
        spellings=chars.to(device),
        spelling_lengths=char_lengths,
        spelling_index=torch.from_numpy(spelling_index).to(device),
        lengths=lengths_t,
        mask=(torch.arange(max_len)[None, :] < lengths_t[:, None]).to(device),
        ner=label_tensor(ner),
        nen=label_tensor(nen),
        order=np.asarray(order, dtype=np.int64),
    )


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Index chunks of at most ``batch_size`` over the sentences sorted by decreasing length (for scoring)."""
    order = length_order(lengths)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def bucket_order(
    order: np.ndarray, lengths: Sequence[int], batch_size: int, window: int, rng: np.random.Generator
) -> np.ndarray:
    """``order`` (``lengths[i]``: the length of sentence ``order[i]``) regrouped so that its consecutive
    ``batch_size`` chunks hold sentences of similar length:
    each run of ``window`` batches of it sorted by decreasing length (stable), then the full batches
    shuffled (a partial last batch stays last). The same sentences, less padding. ``window`` 0: as given."""
    if window <= 0 or len(order) <= batch_size:
        return order
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    span = window * batch_size
    grouped = np.concatenate([order[i : i + span][length_order(lengths_arr[i : i + span])]
                              for i in range(0, len(order), span)])
    n_full = len(grouped) // batch_size
    full = grouped[: n_full * batch_size].reshape(n_full, batch_size)[rng.permutation(n_full)]
    return np.concatenate([full.reshape(-1), grouped[n_full * batch_size :]])


def iter_batches(
    sentences: Sequence[Sequence[str]],
    vocab: Vocab,
    ner: Sequence[Sequence[int]] | None = None,
    nen: Sequence[Sequence[int]] | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    rng: np.random.Generator | None = None,
    drop_last: bool = False,
    length_buckets: int = 0,
    device: torch.device | str = "cpu",
) -> Iterator[Batch]:
    """Training batches: a seeded shuffle when ``rng`` is given, the last partial batch kept by default.
    ``length_buckets`` > 0 (with ``rng``): batches of similar lengths (:func:`bucket_order` with that
    window), in shuffled order."""
    n = len(sentences)
    order = rng.permutation(n) if rng is not None else np.arange(n)
    if rng is not None and length_buckets:
        order = bucket_order(order, [len(sentences[i]) for i in order], batch_size, length_buckets, rng)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        yield collate(
            [sentences[i] for i in idx],
            vocab,
            None if ner is None else [ner[i] for i in idx],
            None if nen is None else [nen[i] for i in idx],
            device=device,
        )
