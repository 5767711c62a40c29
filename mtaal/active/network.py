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

Departures from the release, on purpose: padding is masked everywhere (the release averages its losses
over left-padded positions and runs no masks in the decoders); TD and DD score a sentence (pooled), where
the release scores every position and multiplies the per-token probabilities (``discriminators="word"``
does too); the attention is scaled dot-product as the paper writes it (the release uses additive
``keras_self_attention``). Character embeddings start uniform in ±sqrt(3 / char_dim) (the paper, after
Zhao et al. 2019; ``char_init="keras"``: ±0.05, the release's Keras default). On CUDA the forward passes run
under bf16 autocast except the LSTMs, which always run in fp32 (cuDNN's bf16 LSTM support varies by version;
these LSTMs are small).

Batches: :mod:`mtaal.active.batching`; losses, optimisers and training steps: :mod:`mtaal.active.training`;
scoring: :mod:`mtaal.active.inference`.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mtaal.active.batching import PAD_ID, Batch
from mtaal.errors import ConfigError

TASKS = ("ner", "nen")

# Hyperparameters of the authors' release (params.py / models.py).
HIDDEN = 64
CHAR_DIM = 30

CHAR_CHUNKS = 4  # length-sorted chunks a batch's words go through the char BiLSTM in
CHAR_INITS = ("paper", "keras")
DISCRIMINATORS = ("sentence", "word")
CHAR_ENCODERS = ("shared", "release_separate")
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
        lengths = lengths.cpu()[:, None]
        valid = torch.arange(x.shape[1])[None, :] < lengths
        reverse = _reversal_index(lengths[:, 0], x.shape[1]).to(x.device)
        fwd = _lstm_direction(lstm, x, reverse=False)
        bwd = _reverse_steps(_lstm_direction(lstm, _reverse_steps(x, reverse), reverse=True), reverse)
        last = torch.arange(x.shape[0], device=x.device), (lengths[:, 0] - 1).to(x.device)
        final = torch.cat([fwd[last], bwd[:, 0]], dim=-1)
        return torch.cat([fwd, bwd], dim=-1) * valid.to(x.device).unsqueeze(-1), final


def _reversal_index(lengths: Tensor, width: int) -> Tensor:
    """(n, width): step t < L of a row of length L <-> step L - 1 - t; padding steps stay put (an
    involution), so gathering with it reverses each row within its own length."""
    steps = torch.arange(width)[None, :]
    last = lengths[:, None] - 1
    return torch.where(steps <= last, last - steps, steps)


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

    #: Run the BiLSTM once per distinct spelling (a row of the batch's spelling table: a batch of 32
    #: sentences spells half its words again: ",", "the", "of"...); False: once per word, as before.
    distinct_spellings: bool = True

    def forward(
        self, spellings: Tensor, spelling_lengths: Tensor, spelling_index: Tensor,
        features: Tensor | None = None,
    ) -> Tensor:
        """Each token's features (B, S, out_dim), zeros at padding: row ``spelling_index`` of the spelling
        table's features (``features``, precomputed by :meth:`spelling_features` for a table shared by
        several batches, or computed here)."""
        if self.distinct_spellings:
            table = self.spelling_features(spellings, spelling_lengths) if features is None else features
            return table[spelling_index]
        b, s = spelling_index.shape
        flat = spelling_index.reshape(-1)
        real = torch.nonzero(flat > 0).squeeze(1)
        rows = flat[real]
        finals = self._final_states(spellings[rows], spelling_lengths[rows.cpu()], reverse_ids=False)
        out = finals.new_zeros(b * s, self.out_dim)
        out[real] = finals
        return out.reshape(b, s, self.out_dim)

    def spelling_features(self, spellings: Tensor, spelling_lengths: Tensor) -> Tensor:
        """The features (N, out_dim) of each row of a spelling table, zeros for empty rows (padding)."""
        real = torch.nonzero(spelling_lengths > 0).squeeze(1)
        finals = self._final_states(spellings[real.to(spellings.device)], spelling_lengths[real],
                                    reverse_ids=True)
        out = finals.new_zeros(len(spelling_lengths), self.out_dim)
        out[real.to(out.device)] = finals
        return out

    def _final_states(self, chars: Tensor, lengths: Tensor, *, reverse_ids: bool) -> Tensor:
        """The BiLSTM's final states (fwd ⊕ bwd) of each row of ``chars`` (n, c), ``lengths`` (n,) > 0 on
        the CPU, in row order. ``reverse_ids``: the backward direction reads each word's char ids reversed
        and embedded (no reversal of float tensors, no output sequence kept); else :func:`run_lstm`."""
        # Longest first, in CHAR_CHUNKS chunks each padded only to its own longest word: most words are
        # short, and padding all of them to the batch's longest would mean ~4x the steps.
        by_length = torch.argsort(lengths, descending=True, stable=True)
        finals = []
        for chunk in torch.tensor_split(by_length, min(CHAR_CHUNKS, len(by_length))):
            chunk_lengths = lengths[chunk]
            ids = chars[chunk.to(chars.device), : int(chunk_lengths[0])]
            if reverse_ids:
                finals.append(self._chunk_final_states(ids, chunk_lengths))
            else:
                finals.append(run_lstm(self.lstm, self.embedding(ids), chunk_lengths)[1])
        out = torch.empty_like(torch.cat(finals))
        out[by_length.to(out.device)] = torch.cat(finals)
        return out

    def _chunk_final_states(self, ids: Tensor, lengths: Tensor) -> Tensor:
        """Both directions over right-padded ``ids`` (n, c); each one's state after a word's last char.
        The values :func:`run_lstm` gives, without its gathers of float tensors and their backward."""
        reverse = _reversal_index(lengths, ids.shape[1]).to(ids.device)
        rows, last = torch.arange(len(ids), device=ids.device), (lengths - 1).to(ids.device)
        with torch.autocast(device_type=ids.device.type, enabled=False):
            fwd = _lstm_direction(self.lstm, self.embedding(ids).float(), reverse=False)
            bwd = _lstm_direction(self.lstm, self.embedding(ids.gather(1, reverse)).float(), reverse=True)
        return torch.cat([fwd[rows, last], bwd[rows, last]], dim=-1)


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
        char_encoders: str = "shared",
    ):
        super().__init__()
        weights = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
        self.word_embedding = nn.Embedding.from_pretrained(
            weights.clone(), freeze=not trainable_word_embeddings, padding_idx=PAD_ID
        )
        self.chars = CharEncoder(n_chars, char_dim, hidden, char_init)
        # The release's DD-game unlabeled input has a char BiLSTM of its own (FIDELITY.md, "Char encoder").
        self.unlabeled_chars = (CharEncoder(n_chars, char_dim, hidden, char_init)
                                if char_encoders == "release_separate" else None)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(
            weights.shape[1] + self.chars.out_dim, hidden, batch_first=True, bidirectional=True
        )
        self.out_dim = 2 * hidden

    def forward(self, batch: Batch, spelling_features: Tensor | None = None, *, pool_side: bool = False
                ) -> Tensor:
        """``spelling_features``: the char features of ``batch.spellings``' rows, when precomputed.
        ``pool_side``: the DD game's unlabeled batch (its own char encoder, when there is one)."""
        encoder = self.unlabeled_chars if pool_side and self.unlabeled_chars is not None else self.chars
        chars = encoder(batch.spellings, batch.spelling_lengths, batch.spelling_index, spelling_features)
        x = torch.cat([self.word_embedding(batch.word_ids), chars], -1)
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
        char_encoders: str = "shared",
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
                char_encoders=char_encoders,
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

    def encode(self, batch: Batch, spelling_features: Tensor | None = None, *, pool_side: bool = False
               ) -> Tensor:
        return self.encoder(batch, spelling_features, pool_side=pool_side)

    def decode(self, e: Tensor, batch: Batch) -> ModelOutput:
        logits, private = {}, {}
        for task, decoder in self.decoders.items():
            logits[task], private[task] = decoder(e, batch.mask, batch.lengths)
        return ModelOutput(e, logits, private)

    def forward(self, batch: Batch, spelling_features: Tensor | None = None) -> ModelOutput:
        return self.decode(self.encode(batch, spelling_features), batch)

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

    # Parameter groups, one per party of the games (frozen parameters left out). A trainable word
    # embedding is the task solver's alone: the release's adversarial encoder solvers take Keras'
    # trainable weights, which leave out an Embedding built with trainable=False, while its task solver
    # (no var_list) trains every TF variable, that embedding included.
    def encoder_parameters(self) -> list[nn.Parameter]:
        word = self.encoder.word_embedding.weight
        return [p for p in self.encoder.parameters() if p.requires_grad and p is not word]

    def decoder_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.decoders.parameters() if p.requires_grad]

    def task_parameters(self) -> list[nn.Parameter]:
        word = self.encoder.word_embedding.weight
        return [word] * word.requires_grad + self.encoder_parameters() + self.decoder_parameters()

    def td_parameters(self) -> list[nn.Parameter]:
        return [] if self.td is None else list(self.td.parameters())

    def dd_parameters(self) -> list[nn.Parameter]:
        return [] if self.dd is None else list(self.dd.parameters())
