"""The MTAAL network (Zhou et al., AAAI 2021) in PyTorch: shared encoder, task decoders, two discriminators.

Layout (hidden size ``H``, 64 in the authors' release)::

    words -> word embedding (pretrained matrix, frozen unless asked) --+
    chars -> char embedding -> char BiLSTM (final fwd/bwd states) -----+-> sentence BiLSTM -> e (B, S, 2H)
    e     -> [per task] scaled dot-product self-attention = private p_t (B, S, 2H) -> BiLSTM
          -> linear -> per-token logits
    p_ner, p_nen -> task discriminator TD (BiLSTM, masked mean pool, linear -> 2 logits: NER=0, NEN=1)
    e -> diversity discriminator DD (BiLSTM, masked mean pool, linear -> 1 logit; sigmoid = P(labeled))

TD reads ``p_k = Attention(Q, K, V; θ_k)``, the attention output, as the paper defines the task private
features and as the release does (``models.py``: ``discrim_task(ner_att)``). With
``discriminators="word"`` TD and DD skip the pooling and decide per word, as the release's
``TimeDistributed(Dense(2))``: their losses average over real tokens and a sentence's diversity score is
``1 - prod_words P(labeled)`` (release ``activelearning.py`` ``diversity``).

The adversarial games, with the parameter set each party updates (one Adam per party, as in the release):

* Task loss (Eq. 1): ``L_task = L_NER + L_NEN``; encoder + decoders minimise it.
* Task discriminator (Eq. 2): value ``V_TD = mean log TD(NER | p_ner) + mean log TD(NEN | p_nen)``.
  The decoders + TD maximise ``V_TD`` (they minimise ``td_loss = -V_TD``, a cross-entropy);
  the shared encoder minimises ``V_TD`` (it minimises ``encoder_td_loss = -td_loss``).
* Diversity discriminator (Eq. 3): DD minimises ``BCE(DD(E(x_l)), 1) + BCE(DD(E(x_u)), 0)``.
* Encoder against DD (Eq. 4): the encoder minimises ``BCE(DD(E(x_l)), 1) + BCE(DD(E(x_u)), 1)``: it tries
  to make DD call every sentence labeled (both terms, as Eq. 4 and the release; ``include_labeled=False``
  leaves the labeled one out).

Departures from the release, on purpose: padding is masked everywhere (the release averages its losses
over left-padded positions and runs no masks in the decoders); TD and DD score a sentence (pooled), where
the release scores every position and multiplies the per-token probabilities (``discriminators="word"``
does too); the attention is scaled dot-product as the paper writes it (the release uses additive
``keras_self_attention``). Character embeddings start uniform in ±sqrt(3 / char_dim) (the paper, after
Zhao et al. 2019; ``char_init="keras"``: ±0.05, the release's Keras default). On CUDA the forward passes run
under bf16 autocast except the LSTMs, which always run in fp32 (cuDNN's bf16 LSTM support varies by version;
these LSTMs are small).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mtaal.errors import ConfigError

PAD_ID = 0
UNK_ID = 1
IGNORE_INDEX = -100
TASKS = ("ner", "nen")
TASK_LABEL = {"ner": 0, "nen": 1}

# Hyperparameters of the authors' release (params.py / models.py).
HIDDEN = 64
CHAR_DIM = 30
BATCH_SIZE = 32
LR = 1e-3
BETAS = (0.9, 0.9)
ADV_LR = 1e-4
TD_BETAS = (0.5, 0.5)
DD_BETAS = (0.9, 0.999)

CHAR_CHUNKS = 4  # length-sorted chunks a batch's words go through the char BiLSTM in
CHAR_INITS = ("paper", "keras")
DISCRIMINATORS = ("sentence", "word")
KERAS_UNIFORM = 0.05  # keras.initializers.RandomUniform default of keras.layers.Embedding


# -------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ModelSettings:
    """Which parts of MTAAL are switched on: single-task NER / NEN or multi-task, with or without TD / DD."""

    tasks: frozenset[str] = frozenset(TASKS)
    use_td: bool = True
    use_dd: bool = True

    def __post_init__(self) -> None:
        tasks = frozenset(self.tasks)
        object.__setattr__(self, "tasks", tasks)
        if not tasks or not tasks <= set(TASKS):
            raise ConfigError(
                f"model settings: tasks must be a non-empty subset of {TASKS}, got {sorted(tasks)}"
            )
        if self.use_td and tasks != set(TASKS):
            raise ConfigError(
                "model settings: use_td needs both tasks (the task discriminator tells NER from NEN)"
            )

    @property
    def ordered_tasks(self) -> tuple[str, ...]:
        return tuple(t for t in TASKS if t in self.tasks)


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


@dataclass
class Batch:
    """A padded batch. ``lengths`` and ``char_lengths`` stay on the CPU (the LSTMs index with them).

    ``order[j]`` is the position, in the list given to :func:`collate`, of the sentence in row ``j``.
    Label tensors hold :data:`IGNORE_INDEX` at padding.
    """

    word_ids: Tensor  # (B, S) long
    char_ids: Tensor  # (B, S, C) long
    lengths: Tensor  # (B,) long, CPU
    char_lengths: Tensor  # (B, S) long, CPU; 0 at padding
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
            keep = f.name in ("lengths", "char_lengths", "order") or value is None
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
    device: torch.device | str = "cpu",
) -> Batch:
    """Build a right-padded :class:`Batch` from token lists and per-token label ids.

    With ``sort_by_length`` rows are ordered by decreasing length and ``Batch.order`` holds the permutation.
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
    char_rows = [[vocab.char_ids(tok)[:max_word_chars] for tok in sentences[i]] for i in order]
    max_chars = max(len(c) for row in char_rows for c in row)

    word_ids = np.zeros((n, max_len), dtype=np.int64)
    char_ids = np.zeros((n, max_len, max_chars), dtype=np.int64)
    char_lengths = np.zeros((n, max_len), dtype=np.int64)
    for row, (i, chars) in enumerate(zip(order, char_rows, strict=True)):
        word_ids[row, : lengths[i]] = [vocab.word_id(tok) for tok in sentences[i]]
        for col, ids in enumerate(chars):
            char_ids[row, col, : len(ids)] = ids
            char_lengths[row, col] = len(ids)

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
        char_ids=torch.from_numpy(char_ids).to(device),
        lengths=lengths_t,
        char_lengths=torch.from_numpy(char_lengths),
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


# -------------------------------------------------------------------------------- modules


def autocast_for(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA, nothing (fp32) elsewhere."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def run_lstm(lstm: nn.LSTM, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """Run a one-layer batch-first bidirectional LSTM over right-padded sequences in fp32 (autocast off).

    Returns the padded output sequence (zeros at padding) and the final states, fwd and bwd concatenated:
    the values ``lstm`` gives on the packed sequences. On the CPU each direction runs padded (oneDNN's
    padded kernel is 2-4x faster than the packed one): the forward one over ``x`` as is (padding after a
    sequence cannot reach its valid steps), the backward one over each sequence reversed within its own
    length (its padding stays at the end), its outputs then put back in order. On CUDA, cuDNN's packed kernel.
    """
    with torch.autocast(device_type=x.device.type, enabled=False):
        x = x.float()
        if x.is_cuda:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, (h_n, _) = lstm(packed)
            padded, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
            return padded, torch.cat([h_n[-2], h_n[-1]], dim=-1)
        steps = torch.arange(x.shape[1])[None, :]
        lengths = lengths.cpu()[:, None]
        valid = steps < lengths
        # Step t < L of a row of length L <-> step L - 1 - t; padding steps stay put (an involution).
        reverse = torch.where(valid, lengths - 1 - steps, steps).to(x.device)
        fwd = _lstm_direction(lstm, x, reverse=False)
        bwd = _reverse_steps(_lstm_direction(lstm, _reverse_steps(x, reverse), reverse=True), reverse)
        last = torch.arange(x.shape[0], device=x.device), (lengths[:, 0] - 1).to(x.device)
        final = torch.cat([fwd[last], bwd[:, 0]], dim=-1)
        return torch.cat([fwd, bwd], dim=-1) * valid.to(x.device).unsqueeze(-1), final


def _reverse_steps(x: Tensor, reverse: Tensor) -> Tensor:
    return x.gather(1, reverse.unsqueeze(-1).expand_as(x))


_LSTM_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _lstm_direction(lstm: nn.LSTM, x: Tensor, *, reverse: bool) -> Tensor:
    """One direction of ``lstm`` run left to right over padded ``x``: its outputs (B, T, H)."""
    if lstm.num_layers != 1 or not (lstm.bidirectional and lstm.batch_first and lstm.bias) or lstm.proj_size:
        raise ValueError("run_lstm: needs a one-layer, batch-first, bidirectional LSTM with biases")
    suffix = "_reverse" if reverse else ""
    weights = [getattr(lstm, f"{name}_l0{suffix}") for name in _LSTM_WEIGHTS]
    h0 = x.new_zeros(1, x.shape[0], lstm.hidden_size)
    # The op nn.LSTM.forward calls: (input, (h0, c0), weights, has_biases, num_layers, dropout, train,
    # bidirectional, batch_first).
    out, _, _ = torch.lstm(x, (h0, h0), weights, True, 1, 0.0, lstm.training, False, True)
    return out


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    weights = mask.to(x.dtype).unsqueeze(-1)
    return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class CharEncoder(nn.Module):
    """Per-word character BiLSTM; a word's vector is the concatenation of the final fwd and bwd states."""

    def __init__(self, n_chars: int, char_dim: int = CHAR_DIM, hidden: int = HIDDEN, init: str = "paper"):
        super().__init__()
        if init not in CHAR_INITS:
            raise ConfigError(f"char_init must be one of {CHAR_INITS}, got {init!r}")
        self.embedding = nn.Embedding(n_chars, char_dim, padding_idx=PAD_ID)
        bound = math.sqrt(3.0 / char_dim) if init == "paper" else KERAS_UNIFORM
        with torch.no_grad():
            nn.init.uniform_(self.embedding.weight, -bound, bound)
            self.embedding.weight[PAD_ID] = 0.0
        self.lstm = nn.LSTM(char_dim, hidden, batch_first=True, bidirectional=True)
        self.out_dim = 2 * hidden

    #: Run the BiLSTM once per distinct spelling in a batch (its value depends on the characters only, and
    #: a batch of 32 sentences spells half its words again: ",", "the", "of"...); False: once per word.
    distinct_spellings: bool = True

    def forward(self, char_ids: Tensor, char_lengths: Tensor) -> Tensor:
        b, s, c = char_ids.shape
        flat_lengths = char_lengths.reshape(-1)
        flat_chars = char_ids.reshape(b * s, c)
        real = torch.nonzero(flat_lengths > 0).squeeze(1)  # CPU
        if self.distinct_spellings:
            words = flat_chars[real.to(char_ids.device)]
            spellings, inverse = torch.unique(words, dim=0, return_inverse=True)
            spelling_lengths = (spellings != PAD_ID).sum(dim=1).cpu()
            finals = self._final_states(spellings, spelling_lengths)[inverse]
        else:
            finals = self._final_states(flat_chars[real.to(char_ids.device)], flat_lengths[real])
        out = finals.new_zeros(b * s, self.out_dim)
        out[real.to(out.device)] = finals
        return out.reshape(b, s, self.out_dim)

    def _final_states(self, chars: Tensor, lengths: Tensor) -> Tensor:
        """The BiLSTM's final states (fwd ⊕ bwd) of each row of ``chars`` (n, c), ``lengths`` (n,) > 0 on
        the CPU, in row order."""
        # Longest first, in CHAR_CHUNKS chunks each padded only to its own longest word: most words are
        # short, and padding all of them to the batch's longest would mean ~4x the steps.
        by_length = torch.argsort(lengths, descending=True, stable=True)
        finals = []
        for chunk in torch.tensor_split(by_length, min(CHAR_CHUNKS, len(by_length))):
            chunk_lengths = lengths[chunk]
            embedded = self.embedding(chars[chunk.to(chars.device), : int(chunk_lengths[0])])
            finals.append(run_lstm(self.lstm, embedded, chunk_lengths)[1])
        out = torch.empty_like(torch.cat(finals))
        out[by_length.to(out.device)] = torch.cat(finals)
        return out


class SharedEncoder(nn.Module):
    """Word embedding ⊕ char BiLSTM features -> sentence BiLSTM -> latent sequence ``e`` (B, S, 2H)."""

    def __init__(
        self,
        embeddings: np.ndarray,
        n_chars: int,
        *,
        hidden: int = HIDDEN,
        char_dim: int = CHAR_DIM,
        trainable_word_embeddings: bool = False,
        dropout: float = 0.0,
        char_init: str = "paper",
    ):
        super().__init__()
        weights = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
        self.word_embedding = nn.Embedding.from_pretrained(
            weights.clone(), freeze=not trainable_word_embeddings, padding_idx=PAD_ID
        )
        self.chars = CharEncoder(n_chars, char_dim, hidden, char_init)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(
            weights.shape[1] + self.chars.out_dim, hidden, batch_first=True, bidirectional=True
        )
        self.out_dim = 2 * hidden

    def forward(self, batch: Batch) -> Tensor:
        x = torch.cat(
            [self.word_embedding(batch.word_ids), self.chars(batch.char_ids, batch.char_lengths)], -1
        )
        e, _ = run_lstm(self.lstm, self.dropout(x), batch.lengths)
        return e


class SelfAttention(nn.Module):
    """Single-head scaled dot-product self-attention; padded positions are never attended to."""

    def __init__(self, dim: int):
        super().__init__()
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.scale = 1.0 / math.sqrt(dim)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        q, k, v = self.query(x), self.key(x), self.value(x)
        scores = torch.matmul(q, k.transpose(1, 2)) * self.scale
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        return torch.matmul(torch.softmax(scores.float(), dim=-1).to(v.dtype), v)


class TaskDecoder(nn.Module):
    """Self-attention over ``e`` (the private features ``p_k``) -> BiLSTM -> linear -> per-token logits."""

    def __init__(self, in_dim: int, n_labels: int, hidden: int = HIDDEN, dropout: float = 0.0):
        super().__init__()
        self.attention = SelfAttention(in_dim)
        self.lstm = nn.LSTM(in_dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(2 * hidden, n_labels)

    def forward(self, e: Tensor, mask: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Returns (logits (B, S, n_labels), private features p_k = the attention output (B, S, 2H))."""
        attended = self.attention(e, mask)
        hidden, _ = run_lstm(self.lstm, attended, lengths)
        return self.output(self.dropout(hidden)), attended


class SequenceDiscriminator(nn.Module):
    """BiLSTM -> masked mean pooling -> linear: one vector of logits per sentence (``per_word``: per word,
    no pooling, shape (B, S, n_out))."""

    def __init__(self, in_dim: int, n_out: int, hidden: int = HIDDEN, per_word: bool = False):
        super().__init__()
        self.lstm = nn.LSTM(in_dim, hidden, batch_first=True, bidirectional=True)
        self.output = nn.Linear(2 * hidden, n_out)
        self.per_word = per_word

    def forward(self, x: Tensor, mask: Tensor, lengths: Tensor) -> Tensor:
        out, _ = run_lstm(self.lstm, x, lengths)
        return self.output(out if self.per_word else masked_mean(out, mask))


class TaskDiscriminator(SequenceDiscriminator):
    """TD: logits over {NER=0, NEN=1} for the task a private feature sequence came from."""

    def __init__(self, in_dim: int, hidden: int = HIDDEN, per_word: bool = False):
        super().__init__(in_dim, 2, hidden, per_word)


class DiversityDiscriminator(SequenceDiscriminator):
    """DD: one logit per sentence (per word with ``per_word``); ``sigmoid`` of it is P(labeled)."""

    def __init__(self, in_dim: int, hidden: int = HIDDEN, per_word: bool = False):
        super().__init__(in_dim, 1, hidden, per_word)

    def forward(self, x: Tensor, mask: Tensor, lengths: Tensor) -> Tensor:
        return super().forward(x, mask, lengths).squeeze(-1)


@dataclass
class ModelOutput:
    e: Tensor
    logits: dict[str, Tensor]
    private: dict[str, Tensor]


class MTAALModel(nn.Module):
    """Shared encoder, one decoder per task in ``settings.tasks``, TD / DD when switched on.

    ``seed`` makes initialisation reproducible without touching the global torch RNG.
    """

    def __init__(
        self,
        embeddings: np.ndarray,
        n_chars: int,
        n_ner_labels: int,
        n_nen_labels: int,
        settings: ModelSettings | None = None,
        *,
        hidden: int = HIDDEN,
        char_dim: int = CHAR_DIM,
        trainable_word_embeddings: bool = False,
        dropout: float = 0.0,
        char_init: str = "paper",
        discriminators: str = "sentence",
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ):
        super().__init__()
        if discriminators not in DISCRIMINATORS:
            raise ConfigError(f"discriminators must be one of {DISCRIMINATORS}, got {discriminators!r}")
        self.settings = settings or ModelSettings()
        self.per_word_discriminators = discriminators == "word"
        rng_guard = torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext()
        with rng_guard:
            if seed is not None:
                torch.manual_seed(seed)
            self.encoder = SharedEncoder(
                embeddings,
                n_chars,
                hidden=hidden,
                char_dim=char_dim,
                trainable_word_embeddings=trainable_word_embeddings,
                dropout=dropout,
                char_init=char_init,
            )
            n_labels = {"ner": n_ner_labels, "nen": n_nen_labels}
            self.decoders = nn.ModuleDict(
                {
                    t: TaskDecoder(self.encoder.out_dim, n_labels[t], hidden, dropout)
                    for t in self.settings.ordered_tasks
                }
            )
            per_word, width = self.per_word_discriminators, self.encoder.out_dim
            self.td = TaskDiscriminator(width, hidden, per_word) if self.settings.use_td else None
            self.dd = DiversityDiscriminator(width, hidden, per_word) if self.settings.use_dd else None
        self.to(device)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def tasks(self) -> tuple[str, ...]:
        return self.settings.ordered_tasks

    def encode(self, batch: Batch) -> Tensor:
        return self.encoder(batch)

    def decode(self, e: Tensor, batch: Batch) -> ModelOutput:
        logits, private = {}, {}
        for task, decoder in self.decoders.items():
            logits[task], private[task] = decoder(e, batch.mask, batch.lengths)
        return ModelOutput(e, logits, private)

    def forward(self, batch: Batch) -> ModelOutput:
        return self.decode(self.encode(batch), batch)

    def discriminator_mask(self, batch: Batch) -> Tensor | None:
        """The token mask the per-word discriminators' losses average over (None: per-sentence ones)."""
        return batch.mask if self.per_word_discriminators else None

    def td_logits(self, private: Tensor, batch: Batch) -> Tensor:
        if self.td is None:
            raise ConfigError("model was built without a task discriminator (use_td=False)")
        return self.td(private, batch.mask, batch.lengths)

    def dd_logits(self, e: Tensor, batch: Batch) -> Tensor:
        if self.dd is None:
            raise ConfigError("model was built without a diversity discriminator (use_dd=False)")
        return self.dd(e, batch.mask, batch.lengths)

    # Parameter groups, one per party of the games (frozen parameters left out).
    def encoder_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.encoder.parameters() if p.requires_grad]

    def decoder_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.decoders.parameters() if p.requires_grad]

    def task_parameters(self) -> list[nn.Parameter]:
        return self.encoder_parameters() + self.decoder_parameters()

    def td_parameters(self) -> list[nn.Parameter]:
        return [] if self.td is None else list(self.td.parameters())

    def dd_parameters(self) -> list[nn.Parameter]:
        return [] if self.dd is None else list(self.dd.parameters())


# -------------------------------------------------------------------------------- losses


def task_loss(logits: Mapping[str, Tensor], targets: Mapping[str, Tensor]) -> Tensor:
    """Eq. 1: ``L_NER + L_NEN``, each a token cross-entropy averaged over non-padding tokens."""
    total = None
    for task, task_logits in logits.items():
        gold = targets[task]
        loss = F.cross_entropy(
            task_logits.float().reshape(-1, task_logits.shape[-1]),
            gold.reshape(-1),
            ignore_index=IGNORE_INDEX,
        )
        total = loss if total is None else total + loss
    if total is None:
        raise ValueError("task_loss: no task logits")
    return total


@dataclass
class TDLosses:
    """``discriminator`` is minimised by decoders + TD (= -V_TD), ``encoder`` by the encoder (= V_TD)."""

    discriminator: Tensor
    encoder: Tensor


def _real(logits: Tensor, mask: Tensor | None) -> Tensor:
    """Per-word logits (B, S, ...) at real tokens only, flattened; per-sentence logits as they are."""
    return logits.float() if mask is None else logits.float()[mask]


def td_adversarial_losses(
    td_logits_ner: Tensor, td_logits_nen: Tensor, mask: Tensor | None = None
) -> TDLosses:
    """Eq. 2 as two losses: ``CE(TD(p_ner), NER) + CE(TD(p_nen), NEN)`` and its negation. ``mask``: the
    logits are per word and the cross-entropies average over the real tokens."""
    ner, nen = _real(td_logits_ner, mask), _real(td_logits_nen, mask)
    ner_target = torch.full((ner.shape[0],), TASK_LABEL["ner"], device=ner.device)
    nen_target = torch.full((nen.shape[0],), TASK_LABEL["nen"], device=nen.device)
    loss = F.cross_entropy(ner, ner_target) + F.cross_entropy(nen, nen_target)
    return TDLosses(discriminator=loss, encoder=-loss)


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def dd_loss(
    dd_logits_labeled: Tensor,
    dd_logits_unlabeled: Tensor,
    mask_labeled: Tensor | None = None,
    mask_unlabeled: Tensor | None = None,
) -> Tensor:
    """Eq. 3, minimised by DD: ``BCE(DD(E(x_l)), 1) + BCE(DD(E(x_u)), 0)`` (each averaged over its batch,
    or over its real tokens when masks say the logits are per word)."""
    return _bce(_real(dd_logits_labeled, mask_labeled), 1.0) + _bce(
        _real(dd_logits_unlabeled, mask_unlabeled), 0.0
    )


def encoder_dd_loss(
    dd_logits_unlabeled: Tensor,
    dd_logits_labeled: Tensor | None = None,
    mask_unlabeled: Tensor | None = None,
    mask_labeled: Tensor | None = None,
) -> Tensor:
    """Eq. 4, minimised by the encoder: ``BCE(DD(E(x_u)), 1)`` + ``BCE(DD(E(x_l)), 1)`` (the labeled term
    when ``dd_logits_labeled`` is given)."""
    loss = _bce(_real(dd_logits_unlabeled, mask_unlabeled), 1.0)
    if dd_logits_labeled is not None:
        loss = loss + _bce(_real(dd_logits_labeled, mask_labeled), 1.0)
    return loss


# -------------------------------------------------------------------------------- optimisers


@dataclass
class Optimizers:
    """One Adam per party. ``td`` updates decoders + TD, ``td_encoder`` / ``dd_encoder`` the encoder only."""

    task: torch.optim.Optimizer
    td: torch.optim.Optimizer | None = None
    td_encoder: torch.optim.Optimizer | None = None
    dd: torch.optim.Optimizer | None = None
    dd_encoder: torch.optim.Optimizer | None = None


def make_optimizers(
    model: MTAALModel,
    *,
    lr: float = LR,
    betas: tuple[float, float] = BETAS,
    adv_lr: float = ADV_LR,
    td_betas: tuple[float, float] = TD_BETAS,
    dd_betas: tuple[float, float] = DD_BETAS,
) -> Optimizers:
    """Adam optimisers with the release's settings: task lr 1e-3, betas (0.9, 0.9); TD games lr 1e-4,
    betas (0.5, 0.5); DD games lr 1e-4, Adam's default betas."""
    opts = Optimizers(task=torch.optim.Adam(model.task_parameters(), lr=lr, betas=betas))
    if model.td is not None:
        opts.td = torch.optim.Adam(
            model.decoder_parameters() + model.td_parameters(), lr=adv_lr, betas=td_betas
        )
        opts.td_encoder = torch.optim.Adam(model.encoder_parameters(), lr=adv_lr, betas=td_betas)
    if model.dd is not None:
        opts.dd = torch.optim.Adam(model.dd_parameters(), lr=adv_lr, betas=dd_betas)
        opts.dd_encoder = torch.optim.Adam(model.encoder_parameters(), lr=adv_lr, betas=dd_betas)
    return opts


# -------------------------------------------------------------------------------- training steps


def _step(
    model: MTAALModel, loss: Tensor, optimizer: torch.optim.Optimizer, inputs: list[Tensor] | None = None
) -> float:
    """Backpropagate ``loss`` and step only ``optimizer``; gradients left on other parties are cleared.
    ``inputs``: the only parameters to compute gradients for (the stepped party's; skips the others')."""
    model.zero_grad(set_to_none=True)
    loss.backward(inputs=inputs)
    optimizer.step()
    model.zero_grad(set_to_none=True)
    return float(loss.detach())


def _targets(model: MTAALModel, batch: Batch) -> dict[str, Tensor]:
    return {task: batch.labels(task).to(model.device) for task in model.tasks}


def train_task_epoch(model: MTAALModel, batches: Iterable[Batch], optimizer: torch.optim.Optimizer) -> float:
    """One pass of Eq. 1 over ``batches``; returns the token-weighted mean task loss (nan for no batches)."""
    model.train()
    total, weight = 0.0, 0
    for batch in batches:
        batch = batch.to(model.device)
        with autocast_for(model.device):
            out = model(batch)
        loss = task_loss(out.logits, _targets(model, batch))
        n_tokens = int(batch.lengths.sum())
        total += _step(model, loss, optimizer) * n_tokens
        weight += n_tokens
    return total / weight if weight else float("nan")


def _encode(model: MTAALModel, batch: Batch, *, detach: bool) -> Tensor:
    """The latent sequence; with ``detach`` no graph is kept through the encoder (its party does not move)."""
    if detach:
        with torch.no_grad():
            return model.encode(batch)
    return model.encode(batch)


def _td_losses(model: MTAALModel, batch: Batch, *, detach_encoder: bool) -> TDLosses:
    with autocast_for(model.device):
        out = model.decode(_encode(model, batch, detach=detach_encoder), batch)
        logits_ner = model.td_logits(out.private["ner"], batch)
        logits_nen = model.td_logits(out.private["nen"], batch)
    return td_adversarial_losses(logits_ner, logits_nen, model.discriminator_mask(batch))


def td_loss_value(model: MTAALModel, batch: Batch) -> float:
    """TD's loss (``TDLosses.discriminator``) on ``batch`` without training anything."""
    with torch.no_grad():
        return float(_td_losses(model, batch.to(model.device), detach_encoder=True).discriminator)


def td_discriminator_step(model: MTAALModel, batch: Batch, td_optimizer: torch.optim.Optimizer) -> float:
    """Decoders + TD take one step down ``td_loss`` (they maximise V_TD). Returns the loss before the step."""
    model.train()
    batch = batch.to(model.device)
    return _step(model, _td_losses(model, batch, detach_encoder=True).discriminator, td_optimizer)


def td_encoder_step(model: MTAALModel, batch: Batch, encoder_optimizer: torch.optim.Optimizer) -> float:
    """The encoder takes one step down ``-td_loss`` (it minimises V_TD). Returns that loss before the step."""
    model.train()
    batch = batch.to(model.device)
    return _step(model, _td_losses(model, batch, detach_encoder=False).encoder, encoder_optimizer)


def _td_losses_from(model: MTAALModel, e: Tensor, batch: Batch) -> TDLosses:
    """Eq. 2 from a computed latent ``e``: TD reads only the attention outputs ``p_k``, so the decoders'
    BiLSTMs and output layers (which ``_td_losses`` runs and discards) are not run."""
    with autocast_for(model.device):
        private = {task: decoder.attention(e, batch.mask) for task, decoder in model.decoders.items()}
        logits_ner = model.td_logits(private["ner"], batch)
        logits_nen = model.td_logits(private["nen"], batch)
    return td_adversarial_losses(logits_ner, logits_nen, model.discriminator_mask(batch))


def adversarial_td_step(
    model: MTAALModel,
    batch: Batch,
    td_optimizer: torch.optim.Optimizer,
    encoder_optimizer: torch.optim.Optimizer,
    *,
    reuse_encoding: bool = True,
) -> dict[str, float]:
    """One round of Eq. 2 on ``batch`` (labels unused, so labeled and unlabeled batches both serve):
    TD side first, then the encoder, as in the release.

    ``reuse_encoding``: encode ``batch`` once for both sides (the TD side's step leaves the encoder as it
    was, so a second encoding would be the same), skip the decoder parts TD does not read and compute
    gradients only for the encoder on its side; the same losses and updates as ``False`` (two full
    forward passes, :func:`td_discriminator_step` then :func:`td_encoder_step`), in about half the time.
    """
    if not reuse_encoding:
        td = td_discriminator_step(model, batch, td_optimizer)
        enc = td_encoder_step(model, batch, encoder_optimizer)
        return {"td_loss": td, "encoder_td_loss": enc}
    model.train()
    batch = batch.to(model.device)
    with autocast_for(model.device):
        e = model.encode(batch)
    td = _step(model, _td_losses_from(model, e.detach(), batch).discriminator, td_optimizer)
    enc = _step(model, _td_losses_from(model, e, batch).encoder, encoder_optimizer,
                inputs=model.encoder_parameters())
    return {"td_loss": td, "encoder_td_loss": enc}


def _dd_logits(model: MTAALModel, batch: Batch, *, detach_encoder: bool) -> Tensor:
    with autocast_for(model.device):
        return model.dd_logits(_encode(model, batch, detach=detach_encoder), batch)


def _dd_loss(model: MTAALModel, labeled: Batch, unlabeled: Batch) -> Tensor:
    labeled, unlabeled = labeled.to(model.device), unlabeled.to(model.device)
    return dd_loss(
        _dd_logits(model, labeled, detach_encoder=True),
        _dd_logits(model, unlabeled, detach_encoder=True),
        model.discriminator_mask(labeled),
        model.discriminator_mask(unlabeled),
    )


def dd_loss_value(model: MTAALModel, labeled: Batch, unlabeled: Batch) -> float:
    """DD's loss (Eq. 3) without training anything."""
    with torch.no_grad():
        return float(_dd_loss(model, labeled, unlabeled))


def dd_discriminator_step(
    model: MTAALModel, labeled: Batch, unlabeled: Batch, dd_optimizer: torch.optim.Optimizer
) -> float:
    """DD takes one step down Eq. 3 (encoder output detached). Returns the loss before the step."""
    model.train()
    return _step(model, _dd_loss(model, labeled, unlabeled), dd_optimizer)


def dd_encoder_step(
    model: MTAALModel,
    labeled: Batch | None,
    unlabeled: Batch,
    encoder_optimizer: torch.optim.Optimizer,
    *,
    include_labeled: bool = True,
) -> float:
    """The encoder takes one step down Eq. 4 (both terms; ``include_labeled=False``: the unlabeled one).
    Returns the loss before the step."""
    model.train()
    unlabeled = unlabeled.to(model.device)
    logits_u = _dd_logits(model, unlabeled, detach_encoder=False)
    logits_l, mask_l = None, None
    if include_labeled:
        if labeled is None:
            raise ValueError("dd_encoder_step: include_labeled needs a labeled batch")
        labeled = labeled.to(model.device)
        logits_l = _dd_logits(model, labeled, detach_encoder=False)
        mask_l = model.discriminator_mask(labeled)
    loss = encoder_dd_loss(logits_u, logits_l, model.discriminator_mask(unlabeled), mask_l)
    return _step(model, loss, encoder_optimizer)


def adversarial_dd_step(
    model: MTAALModel,
    labeled_batch: Batch,
    unlabeled_batch: Batch,
    dd_optimizer: torch.optim.Optimizer,
    encoder_optimizer: torch.optim.Optimizer,
    *,
    include_labeled: bool = True,
    reuse_encoding: bool = True,
) -> dict[str, float]:
    """One round of the DD game: DD step on Eq. 3, then the encoder step on Eq. 4.

    ``reuse_encoding``: encode both batches once for both steps (the DD step leaves the encoder as it was)
    and compute gradients only for the encoder on its step; the same updates as ``False``."""
    if not reuse_encoding:
        dd = dd_discriminator_step(model, labeled_batch, unlabeled_batch, dd_optimizer)
        enc = dd_encoder_step(
            model, labeled_batch, unlabeled_batch, encoder_optimizer, include_labeled=include_labeled
        )
        return {"dd_loss": dd, "encoder_dd_loss": enc}
    model.train()
    labeled, unlabeled = labeled_batch.to(model.device), unlabeled_batch.to(model.device)
    mask_l, mask_u = model.discriminator_mask(labeled), model.discriminator_mask(unlabeled)
    with autocast_for(model.device):
        e_l, e_u = model.encode(labeled), model.encode(unlabeled)
        logits = (model.dd_logits(e_l.detach(), labeled), model.dd_logits(e_u.detach(), unlabeled))
    dd = _step(model, dd_loss(*logits, mask_l, mask_u), dd_optimizer)
    with autocast_for(model.device):
        logits_u = model.dd_logits(e_u, unlabeled)
        logits_l = model.dd_logits(e_l, labeled) if include_labeled else None
    loss = encoder_dd_loss(logits_u, logits_l, mask_u, mask_l if include_labeled else None)
    enc = _step(model, loss, encoder_optimizer, inputs=model.encoder_parameters())
    return {"dd_loss": dd, "encoder_dd_loss": enc}


# -------------------------------------------------------------------------------- prediction


def _unsort(rows: list, order: np.ndarray) -> list:
    out: list = [None] * len(rows)
    for row, original in enumerate(order):
        out[int(original)] = rows[row]
    return out


def predict_proba(model: MTAALModel, batch: Batch) -> dict[str, list[np.ndarray]]:
    """Per task, one float32 (length, n_labels) probability array per sentence, in ``collate`` input order."""
    model.eval()
    batch = batch.to(model.device)
    with torch.inference_mode(), autocast_for(model.device):
        out = model(batch)
    lengths = batch.lengths.tolist()
    result = {}
    for task, logits in out.logits.items():
        probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        result[task] = _unsort([probs[row, :n] for row, n in enumerate(lengths)], batch.order)
    return result


def predict_labels(model: MTAALModel, batch: Batch) -> dict[str, list[np.ndarray]]:
    """Per task, the argmax label id of every token, one int64 array per sentence, in input order."""
    return {task: [p.argmax(-1) for p in probs] for task, probs in predict_proba(model, batch).items()}


def diversity_scores(model: MTAALModel, batch: Batch) -> np.ndarray:
    """``1 - DD(E(x))`` (higher = looks less like the labeled set), one float per sentence, in input order.
    Per-word DD: ``1 - prod_words DD(E(x))_word`` (the release's score; long sentences score higher)."""
    model.eval()
    batch = batch.to(model.device)
    with torch.inference_mode(), autocast_for(model.device):
        logits = model.dd_logits(model.encode(batch), batch).float()
    if model.per_word_discriminators:
        log_p = (F.logsigmoid(logits) * batch.mask).sum(dim=1).double()
    else:
        log_p = F.logsigmoid(logits).double()
    out = np.empty(len(batch), dtype=np.float64)
    out[batch.order] = -torch.expm1(log_p).cpu().numpy()  # 1 - p, exact for p near 1
    return out


@dataclass
class PoolPredictions:
    probs: dict[str, list[np.ndarray]]
    diversity: np.ndarray | None


def predict_pool(
    model: MTAALModel,
    sentences: Sequence[Sequence[str]],
    vocab: Vocab,
    *,
    batch_size: int = 256,
    with_probs: bool = True,
    with_diversity: bool = False,
) -> PoolPredictions:
    """Score a whole pool in length-sorted batches (minimal padding); results come back in input order."""
    probs: dict[str, list] = {task: [None] * len(sentences) for task in model.tasks} if with_probs else {}
    diversity = np.empty(len(sentences), dtype=np.float64) if with_diversity else None
    for idx in length_sorted_batches([len(s) for s in sentences], batch_size):
        batch = collate([sentences[i] for i in idx], vocab, device=model.device)
        if with_probs:
            for task, arrays in predict_proba(model, batch).items():
                for i, arr in zip(idx, arrays, strict=True):
                    probs[task][i] = arr
        if diversity is not None:
            diversity[idx] = diversity_scores(model, batch)
    return PoolPredictions(probs=probs, diversity=diversity)
