"""The MTAAL active-learning loop (Zhou et al., AAAI 2021, Algorithm 1), resumable round by round.

Round 0 trains a fresh model on the seed labeled set for ``initial_epochs`` epochs (0: not at all, as in
Algorithm 1 and the release, which query first) and evaluates it. Every query round then does, in order:

1. **DD game** (when ``use_dd``): ``dd_steps`` adversarial steps, each a DD step on Eq. 3 and an encoder
   step on Eq. 4 (both its labeled and unlabeled terms), on a labeled batch and an unlabeled batch taken in
   turn from seeded shuffles of the two sets (cycling when ``dd_steps`` outruns a set).
2. **Scoring** the unlabeled pool without gradients, in length-sorted batches of ``scoring_batch_size``
   (:func:`~mtaal.active.inference.iter_pool_predictions`: one spelling table for the pool, and the
   per-token probabilities of a big pool are never all held at once: an uncertainty score is reduced per
   batch). Random sampling scores nothing.
3. **Selection** of the top ``query_size`` sentences by the strategy (random: seeded, without replacement
   unless ``random_with_replacement``, the release's sampling, whose repeats join the labeled set twice)
   and the oracle step: they move from the unlabeled to the labeled set with their gold labels.
4. **Training** over the labeled set: one TD adversarial pass (when ``use_td``; Algorithm 1 line 9: per
   labeled batch, a decoders + TD step on Eq. 2 and an encoder step against it, then the same on the next
   batch of a seeded shuffle of the unlabeled pool, as the release does), then ``epochs_per_round`` epochs
   of the task loss
   (Eq. 1), continuing from the current model (``warm_start``). With ``warm_start=False`` the model and
   its optimisers are re-initialised (same initial weights every round) and trained like round 0: TD pass,
   then ``initial_epochs`` epochs.
5. **Evaluation** on the test set (:mod:`mtaal.active.metrics`); the release-style columns score the test
   sentences in their given order, or with ``release_test_shuffle`` in a new seeded order every round, as
   the release reshuffles its test set before its per-batch means.

Round 0's training is step 4 from a fresh model with ``initial_epochs`` epochs.

The diversity strategy needs the DD module even when ``use_dd`` is False: the model then has one but never
trains it (the paper's "without DD" ablation: selection by an untrained discriminator).

Every round appends one row (see :data:`~mtaal.active.settings.ROUND_COLUMNS`: the scores, and what the
sentences queried so far hold, :data:`~mtaal.active.metrics.QUERY_METRICS`) and is followed by an atomic
checkpoint (model, every optimiser's state, the torch / numpy / python RNG states, the labeled and unlabeled
id lists and the rows so far) as safetensors + JSON (:mod:`mtaal.checkpoint`, no pickle). A run started
again with the same settings and data resumes after the last checkpointed round and ends with the same
``rounds.parquet`` as an uninterrupted run (``wall_seconds`` aside) on the same device and thread count. A
checkpoint written with other settings or data is ignored (a warning says so) and overwritten; one with
*fewer* rounds than asked for is extended. ``rounds.parquet`` is written atomically once the last round is
done; the checkpoint is left in place (it is small and lets a run be extended with more rounds).

Randomness: one :class:`numpy.random.SeedSequence` from ``seed`` spawns independent streams for the loop
(shuffles, random sampling), the out-of-vocabulary embedding rows and the unlabeled-pool sample
(:func:`~mtaal.active.settings.seed_streams`); the model's initial weights come from ``seed`` through
:class:`~mtaal.active.network.MTAALModel`. The test-set sample (``max_test_sentences``) uses a fixed seed so
that every run of a dataset is scored on the same sentences.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from gensim.models import KeyedVectors
from tqdm.auto import tqdm

from mtaal import checkpoint
from mtaal.active import metrics as M
from mtaal.active.batching import Batch, Vocab, bucket_order, collate, iter_batches
from mtaal.active.data import ALData
from mtaal.active.inference import iter_pool_predictions
from mtaal.active.network import MTAALModel
from mtaal.active.settings import IDENTITY_NAMES, IDENTITY_SCHEMA, ROUND_SCHEMA, ALSettings, seed_streams
from mtaal.active.strategies import (
    DiversityStrategy,
    QueryStrategy,
    RandomStrategy,
    UncertaintyStrategy,
    make_strategy,
    top_k,
)
from mtaal.active.training import (
    Optimizers,
    adversarial_dd_step,
    adversarial_td_step,
    make_optimizers,
    train_task_epoch,
)
from mtaal.errors import ConfigError
from mtaal.io import write_parquet

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 2  # 2: safetensors + JSON (1 was a torch pickle)
TEST_SAMPLE_SEED = 0
TEST_SHUFFLE_STREAM = 7  # third word of the (seed, round, stream) seed of the release test order
RANDOM_EMBEDDING_DIM = 50
RELEASE_WORD_DIM = 300  # the release's GoogleNews / glove300d vectors
OPTIMIZER_NAMES = ("task", "td", "td_encoder", "dd", "dd_encoder")


# -------------------------------------------------------------------------------- the learner


def _rng_state(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "numpy": rng.bit_generator.state,
        "python": {"version": random.getstate()[0], "internal": list(random.getstate()[1]),
                   "gauss": random.getstate()[2]},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def _set_rng_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    rng.bit_generator.state = state["numpy"]
    python = state["python"]
    random.setstate((python["version"], tuple(python["internal"]), python["gauss"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _nan_metrics() -> dict[str, float]:
    return dict.fromkeys((*M.TEST_METRICS, *M.ALL_O_METRICS), math.nan)


class ActiveLearner:
    """The state of one run and its steps; :func:`run_active_learning` drives it round by round.

    ``data`` is used as given (sample it first: :meth:`ALData.subset`). ``vectors``: a vectors file or
    KeyedVectors (looked up lower-cased, OOV rows random), None for a random N(0, 0.1²) 50-d matrix, or the
    embedding matrix itself (one row per word of ``Vocab.build([data.vocab_words])``, as a model saved it).
    ``reuse_encoding`` False runs the adversarial steps the slower way with the same results
    (:func:`~mtaal.active.training.adversarial_td_step`), for the round benchmark's side-by-side timing.
    """

    reuse_encoding: bool = True

    def __init__(
        self, settings: ALSettings, data: ALData, vectors: str | Path | KeyedVectors | np.ndarray | None
    ):
        self.settings = settings
        self.data = data
        self.device = settings.resolved_device()
        streams = seed_streams(settings.seed)
        loop_seq, embedding_seq = streams["loop"], streams["embedding"]
        self.rng = np.random.default_rng(loop_seq)
        self.vocab = Vocab.build([data.vocab_words])
        vocabulary = sorted(self.vocab.words, key=self.vocab.words.__getitem__)
        if settings.word_vectors == "release_random":
            # The release's effective start (FIDELITY.md, "Word embeddings"): Keras' default uniform
            # init in the release's dimension; the vectors file is not read.
            rng = np.random.default_rng(embedding_seq)
            self.embeddings = rng.uniform(-0.05, 0.05, size=(len(vocabulary), RELEASE_WORD_DIM))
            self.embeddings = self.embeddings.astype(np.float32)
            self.embeddings[0] = 0.0
        elif isinstance(vectors, np.ndarray):
            # A saved model's own matrix (rows already in vocabulary order): no vector file to re-read.
            self.embeddings = np.asarray(vectors, dtype=np.float32)
        elif vectors is None:
            self.embeddings = self.vocab.embedding_matrix(
                None, RANDOM_EMBEDDING_DIM, seed=int(embedding_seq.generate_state(1)[0])
            )
        else:
            from mtaal.embeddings import embedding_matrix

            self.embeddings, _ = embedding_matrix(
                vectors, vocabulary, np.random.default_rng(embedding_seq), lookup="lower"
            )
        self.strategy: QueryStrategy = make_strategy(settings.strategy, **settings.strategy_options())
        self.labeled: list[str] = list(data.labeled)
        self.unlabeled: list[str] = list(data.unlabeled)
        self.rows: list[dict[str, Any]] = []
        self.model, self.optimizers = self._fresh_model()

    # ---------------------------------------------------------------- model

    def _fresh_model(self) -> tuple[MTAALModel, Optimizers]:
        s = self.settings
        model = MTAALModel(
            self.embeddings, len(self.vocab.chars), len(self.data.ner_labels), len(self.data.nen_labels),
            s.model_settings, hidden=s.hidden, char_dim=s.char_dim, char_init=s.char_init,
            char_encoders=s.char_encoders,
            discriminators=s.discriminators, trainable_word_embeddings=s.word_vectors == "release_random",
            seed=s.seed, device=self.device,
        )
        return model, make_optimizers(model, lr=s.lr, betas=s.betas, adv_lr=s.adversarial_lr)

    def _sentences(self, ids: Sequence[str]) -> list[list[str]]:
        return [self.data.words[i] for i in self.data.indices(list(ids))]

    def _labels(self, ids: Sequence[str], task: str) -> list[list[int]] | None:
        if task not in self.settings.tasks:
            return None
        table = self.data.ner if task == "ner" else self.data.nen
        return [table[i] for i in self.data.indices(list(ids))]

    # ---------------------------------------------------------------- steps

    def dd_game(self) -> dict[str, float]:
        """``dd_steps`` rounds of the DD game on alternating labeled / unlabeled batches."""
        return play_dd_game(self.model, self.optimizers, self.vocab, self.rng, self.settings,
                            self._sentences(self.labeled), self._sentences(self.unlabeled), self.device,
                            reuse_encoding=self.reuse_encoding)

    def pool_scores(self, ids: Sequence[str], strategy: QueryStrategy | None = None) -> np.ndarray:
        """One informativeness score per id (higher = queried first) by ``strategy`` (default: the run's;
        not random), reduced batch by batch."""
        strategy = self.strategy if strategy is None else strategy
        return score_sentences(self.model, self.vocab, self._sentences(ids), strategy,
                               self.settings.scoring_batch_size)

    def select(self) -> list[str]:
        k = min(self.settings.query_size, len(self.unlabeled))
        if isinstance(self.strategy, RandomStrategy):
            return self.strategy.select(k, self.unlabeled, rng=self.rng)
        return top_k(self.unlabeled, self.pool_scores(self.unlabeled), k)

    def move_to_labeled(self, selected: Sequence[str]) -> None:
        """Repeats (random sampling with replacement only) join the labeled set as often as drawn."""
        chosen = set(selected)
        repeats = len(chosen) != len(selected) and not self.settings.random_with_replacement
        if repeats or not chosen <= set(self.unlabeled):
            raise RuntimeError("selection repeats a sentence or picks one outside the unlabeled pool")
        self.labeled.extend(selected)
        self.unlabeled = [sid for sid in self.unlabeled if sid not in chosen]

    def td_pass(self, unlabeled: Sequence[Sequence[str]] | None = None) -> None:
        """One pass of the TD game (no labels needed): per batch of the shuffled labeled set, a TD round on
        it and one on the next batch of a shuffled unlabeled pool (Algorithm 1, line 9). ``unlabeled``
        (any sequence; only the drawn sentences are read) replaces the learner's own pool, for a caller
        that keeps its pool outside :class:`ALData` (the curator's)."""
        s = self.settings
        sentences = self._sentences(self.labeled)
        unlabeled = self._sentences(self.unlabeled) if unlabeled is None else unlabeled
        order_u = self.rng.permutation(len(unlabeled))
        if s.length_buckets:
            # Only the drawn unlabeled batches are read, so only their window of the pool is sorted.
            n_steps = math.ceil(len(sentences) / s.batch_size) * s.batch_size
            head = order_u[:n_steps]
            order_u = np.concatenate([bucket_order(head, [len(unlabeled[i]) for i in head], s.batch_size,
                                                   s.length_buckets, self.rng), order_u[n_steps:]])
        batches = iter_batches(sentences, self.vocab, batch_size=s.batch_size, rng=self.rng,
                               drop_last=s.drop_last_batch, length_buckets=s.length_buckets,
                               device=self.device)
        for step, batch in enumerate(batches):
            self._td_step(batch)
            if len(unlabeled):
                batch_u = collate([unlabeled[i] for i in _chunk(order_u, step, s.batch_size)], self.vocab,
                                  device=self.device)
                self._td_step(batch_u)

    def _td_step(self, batch: Batch) -> None:
        adversarial_td_step(self.model, batch, self.optimizers.td, self.optimizers.td_encoder,
                            reuse_encoding=self.reuse_encoding)

    def _task_epoch(self, batches: Iterable[Batch]) -> float:
        return train_task_epoch(self.model, batches, self.optimizers.task)

    def train(self, epochs: int, unlabeled: Sequence[Sequence[str]] | None = None) -> float:
        """TD pass (when ``use_td``; over ``unlabeled``, default the learner's pool), then ``epochs`` task
        epochs; the last epoch's mean task loss. No training at all (nan) for ``epochs`` 0."""
        if epochs == 0:
            return math.nan
        if self.settings.use_td:
            self.td_pass(unlabeled)
        return self.task_epochs(epochs)

    def task_epochs(self, epochs: int) -> float:
        """``epochs`` shuffled passes of the task loss over the labeled set; the last one's mean loss."""
        sentences = self._sentences(self.labeled)
        ner, nen = self._labels(self.labeled, "ner"), self._labels(self.labeled, "nen")
        loss = math.nan
        for _ in range(epochs):
            batches = iter_batches(sentences, self.vocab, ner, nen, batch_size=self.settings.batch_size,
                                   rng=self.rng, drop_last=self.settings.drop_last_batch,
                                   length_buckets=self.settings.length_buckets, device=self.device)
            loss = self._task_epoch(batches)
        return loss

    def evaluate(self) -> dict[str, float]:
        """Test-set scores; NaN for a task the model does not have (or an empty test set)."""
        out = _nan_metrics()
        if not self.data.test:
            return out
        s = self.settings
        sentences = self._sentences(self.data.test)
        idx = self.data.indices(self.data.test)
        predicted: dict[str, list] = {task: [None] * len(sentences) for task in s.tasks}
        for chunk, pred in iter_pool_predictions(self.model, sentences, self.vocab,
                                                 batch_size=s.scoring_batch_size):
            for task, arrays in pred.probs.items():
                for i, p in zip(chunk, arrays, strict=True):
                    predicted[task][i] = p.argmax(-1)
        # The release metrics' batches: the test order as given, or (release_test_shuffle) a fresh order each
        # round, as the release's getData('test') reshuffles; seeded by (seed, round), not the loop's RNG.
        release_order = np.arange(len(idx))
        if s.release_test_shuffle:
            shuffle = np.random.default_rng([s.seed, len(self.rows), TEST_SHUFFLE_STREAM])
            release_order = shuffle.permutation(len(idx))

        def release_view(rows: list) -> list:
            return [rows[i] for i in release_order]

        if "ner" in predicted:
            gold = [self.data.ner_gold[i] for i in idx]
            pred_tags = [[self.data.ner_labels[j] for j in row] for row in predicted["ner"]]
            micro = M.ner_scores(gold, pred_tags).micro
            out.update(ner_precision=micro.precision, ner_recall=micro.recall, ner_f1=micro.f1,
                       release_ner_f1_batch_mean=M.release_ner_f1_batch_mean(release_view(gold),
                                                                             release_view(pred_tags)))
        if "nen" in predicted:
            gold = [self.data.nen_gold[i] for i in idx]
            pred_ids = [[self.data.nen_labels[j] for j in row] for row in predicted["nen"]]
            prf = M.nen_scores(gold, pred_ids)
            out.update(nen_precision=prf.precision, nen_recall=prf.recall, nen_f1=prf.f1,
                       release_nen_token_accuracy_batch_mean=M.release_nen_token_accuracy_batch_mean(
                           release_view(gold), release_view(pred_ids)))
        # The release metrics depend on the order of the test batches: the all-O scores use the same order.
        out.update(M.all_outside_scores(
            release_view([self.data.ner_gold[i] for i in idx]) if "ner" in predicted else None,
            release_view([self.data.nen_gold[i] for i in idx]) if "nen" in predicted else None,
        ))
        return out

    # ---------------------------------------------------------------- rounds

    def run_round(self, round_index: int) -> dict[str, Any]:
        """Round 0: train from scratch and evaluate. Later rounds: DD game, query, train, evaluate."""
        s = self.settings
        start = time.perf_counter()
        selected: list[str] = []
        if round_index == 0:
            loss = self.train(s.initial_epochs)
        else:
            self.dd_game()
            selected = self.select()
            self.move_to_labeled(selected)
            if s.warm_start:
                loss = self.train(s.epochs_per_round)
            else:
                self.model, self.optimizers = self._fresh_model()
                loss = self.train(s.initial_epochs)
        row: dict[str, Any] = {
            "dataset": s.dataset, "embedding": s.embedding, "tasks": "+".join(s.tasks),
            "strategy": s.strategy, "use_td": s.use_td, "use_dd": s.use_dd, "seed": s.seed,
            "round": round_index, "labeled_count": len(self.labeled),
        }
        row.update(self.evaluate())
        row.update(task_loss=float(loss), wall_seconds=time.perf_counter() - start)
        row.update(self.query_statistics(selected), selected_ids=selected)
        row.update(self.annotation_cost())
        self.rows.append(row)
        return row

    def annotation_cost(self) -> dict[str, int]:
        """:data:`~mtaal.active.metrics.COST_METRICS` of the labeled set now."""
        labeled = self.data.indices(self.labeled)
        return M.annotation_cost([self.data.words[i] for i in labeled],
                                 [self.data.ner_gold[i] for i in labeled])

    def query_statistics(self, selected: Sequence[str]) -> dict[str, int]:
        """:data:`~mtaal.active.metrics.QUERY_METRICS` over the earlier rounds' and ``selected``."""
        queried = [sid for row in self.rows for sid in row["selected_ids"]] + list(selected)
        distinct = self.data.indices(list(dict.fromkeys(queried)))
        return M.query_statistics(len(queried), [self.data.words[i] for i in distinct],
                                  [self.data.ner_gold[i] for i in distinct])

    # ---------------------------------------------------------------- checkpoints

    def state_dict(self, data_fingerprint: str) -> dict[str, Any]:
        optimizers = {name: getattr(self.optimizers, name) for name in OPTIMIZER_NAMES}
        return {
            "format": CHECKPOINT_FORMAT,
            "settings": self.settings.as_dict(),
            "data_fingerprint": data_fingerprint,
            "rounds_done": len(self.rows),
            "model": self.model.state_dict(),
            "optimizers": {k: None if o is None else o.state_dict() for k, o in optimizers.items()},
            "rng": _rng_state(self.rng),
            "labeled": list(self.labeled),
            "unlabeled": list(self.unlabeled),
            "rows": [dict(row) for row in self.rows],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model, self.optimizers = self._fresh_model()
        self.model.load_state_dict(state["model"])
        for name in OPTIMIZER_NAMES:
            optimizer, saved = getattr(self.optimizers, name), state["optimizers"][name]
            if (optimizer is None) != (saved is None):
                raise ConfigError(f"checkpoint: optimiser {name!r} does not match the model's parts")
            if optimizer is not None:
                optimizer.load_state_dict(saved)
        _set_rng_state(self.rng, state["rng"])
        self.labeled = list(state["labeled"])
        self.unlabeled = list(state["unlabeled"])
        self.rows = [dict(row) for row in state["rows"]]

    def rounds_table(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows, schema=ROUND_SCHEMA)


def play_dd_game(
    model: MTAALModel,
    optimizers: Optimizers,
    vocab: Vocab,
    rng: np.random.Generator,
    settings: ALSettings,
    labeled: Sequence[Sequence[str]],
    unlabeled: Sequence[Sequence[str]],
    device: torch.device,
    *,
    reuse_encoding: bool = True,
) -> dict[str, float]:
    """``settings.dd_steps`` rounds of the DD game on alternating labeled / unlabeled batches.

    ``unlabeled`` may be any sequence (``len`` and indexing): only the sentences of the batches drawn are
    read, so a pool kept on disk never has to be loaded whole.
    """
    if not settings.use_dd or settings.dd_steps == 0 or not len(labeled) or not len(unlabeled):
        return {}
    order_l = rng.permutation(len(labeled))
    order_u = rng.permutation(len(unlabeled))
    losses: dict[str, float] = {}
    for step in range(settings.dd_steps):
        batch_l = collate([labeled[i] for i in _chunk(order_l, step, settings.batch_size)], vocab,
                          device=device)
        batch_u = collate([unlabeled[i] for i in _chunk(order_u, step, settings.batch_size)], vocab,
                          device=device)
        losses = adversarial_dd_step(model, batch_l, batch_u, optimizers.dd, optimizers.dd_encoder,
                                     reuse_encoding=reuse_encoding)
    return losses


def score_sentences(
    model: MTAALModel,
    vocab: Vocab,
    sentences: Sequence[Sequence[str]],
    strategy: QueryStrategy,
    batch_size: int,
) -> np.ndarray:
    """One score per sentence by ``strategy`` (diversity or uncertainty; higher = queried first), in
    length-sorted batches of ``batch_size`` reduced one at a time (no pool-wide probability arrays)."""
    if isinstance(strategy, DiversityStrategy):
        diversity = True
    elif isinstance(strategy, UncertaintyStrategy):
        diversity = False
    else:
        raise ValueError(f"{type(strategy).__name__} does not score sentences")
    scores = np.empty(len(sentences), dtype=np.float64)
    for idx, pred in iter_pool_predictions(model, sentences, vocab, batch_size=batch_size,
                                           with_probs=not diversity, with_diversity=diversity):
        if diversity:
            scores[idx] = pred.diversity
        else:
            assert isinstance(strategy, UncertaintyStrategy)
            scores[idx] = strategy.scores(pred.probs, len(idx))
    return scores


def _chunk(order: np.ndarray, step: int, size: int) -> np.ndarray:
    """The ``step``-th batch of ``order`` cut into batches of ``size``, cycling."""
    n_chunks = max(1, math.ceil(len(order) / size))
    start = (step % n_chunks) * size
    return order[start : start + size]


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """Atomically, as safetensors + JSON (:mod:`mtaal.checkpoint`)."""
    checkpoint.save_checkpoint(state, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint as saved, tensors on the CPU (RNG states must be); nothing is unpickled."""
    return checkpoint.load_checkpoint(path)


def _usable_checkpoint(path: Path, settings: ALSettings, fingerprint: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        state = load_checkpoint(path)
    except Exception as error:  # a truncated or foreign file: start over rather than fail
        log.warning("checkpoint %s unreadable (%s: %s); starting from round 0", path, type(error).__name__,
                    error)
        return None
    try:
        saved = ALSettings.from_dict(state["settings"]).identity()
    except (KeyError, TypeError, IndexError, ConfigError):
        saved = None
    reason = None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        reason = f"not a format-{CHECKPOINT_FORMAT} checkpoint"
    elif saved != settings.identity():
        reason = "other settings"
    elif state.get("data_fingerprint") != fingerprint:
        reason = "other data"
    elif state["rounds_done"] > settings.rounds + 1:
        reason = f"{state['rounds_done'] - 1} rounds done, more than the {settings.rounds} asked for"
    if reason:
        log.warning("checkpoint %s ignored (%s); starting from round 0", path, reason)
        return None
    return state


def run_sample(settings: ALSettings, data: ALData) -> ALData:
    """The run's own sample of ``data`` (pool, initial labeled set and test set after the caps)."""
    streams = seed_streams(settings.seed)
    return data.subset(
        max_pool_sentences=settings.max_pool_sentences, max_test_sentences=settings.max_test_sentences,
        max_labeled_sentences=settings.max_labeled_sentences, pool_seed=streams["pool"],
        labeled_seed=streams["labeled"], test_seed=TEST_SAMPLE_SEED,
    )


def run_active_learning(
    settings: ALSettings,
    data: ALData,
    vectors_path: str | Path | KeyedVectors | None,
    out_path: str | Path,
    checkpoint_path: str | Path,
    stop_after_round: int | None = None,
    *,
    progress: bool = True,
    identity: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Run (or resume) the loop; write ``rounds.parquet`` at ``out_path`` when every round is done, each row
    with the run's identity (:data:`IDENTITY_SCHEMA`: ``identity`` gives paper, experiment, variant, tier).

    ``stop_after_round`` stops after that round's checkpoint without writing ``out_path`` (what a killed job
    leaves behind). The run stops early, with fewer rows, when the unlabeled pool runs dry. Returns the rows
    so far. Seeds python's ``random`` and torch's global RNG from ``settings.seed`` on a fresh start.
    """
    checkpoint_path = Path(checkpoint_path)
    fingerprint = data.fingerprint()
    learner = ActiveLearner(settings, run_sample(settings, data), vectors_path)
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    state = _usable_checkpoint(checkpoint_path, settings, fingerprint)
    if state is not None:
        learner.load_state_dict(state)
        log.info("resuming %s from checkpoint %s after round %d", settings.dataset, checkpoint_path,
                 len(learner.rows) - 1)
    label = f"{settings.dataset} {'+'.join(settings.tasks)} {settings.strategy} seed{settings.seed}"
    bar = tqdm(total=settings.rounds + 1, initial=len(learner.rows), desc=label, unit="round",
               disable=not progress)
    try:
        for round_index in range(len(learner.rows), settings.rounds + 1):
            if round_index > 0 and not learner.unlabeled:
                log.warning("%s: unlabeled pool empty after round %d; stopping", label, round_index - 1)
                break
            row = learner.run_round(round_index)
            save_checkpoint(learner.state_dict(fingerprint), checkpoint_path)
            bar.update(1)
            log.info(
                "%s round %d: labeled %d, NER F1 %.4f, NEN F1 %.4f, task loss %.4f, %.1f s",
                label, round_index, row["labeled_count"], row["ner_f1"], row["nen_f1"], row["task_loss"],
                row["wall_seconds"],
            )
            if stop_after_round is not None and round_index >= stop_after_round:
                return learner.rounds_table().to_pandas()
    finally:
        bar.close()
    table = with_identity(learner.rounds_table(), identity or {}, settings.settings_hash(),
                          len(learner.data.labeled) + len(learner.data.unlabeled))
    write_parquet(table, out_path)
    return table.to_pandas()


def with_identity(rounds: pa.Table, names: Mapping[str, str], settings_hash: str, available: int) -> pa.Table:
    """``rounds`` with the :data:`IDENTITY_SCHEMA` columns (constant over its rows) appended."""
    unknown = set(names) - set(IDENTITY_NAMES)
    if unknown:
        raise ValueError(f"run identity: unknown names {sorted(unknown)} (known: {IDENTITY_NAMES})")
    values = {**{name: names.get(name) for name in IDENTITY_NAMES}, "settings_hash": settings_hash,
              "available_sentences": available}
    for field in IDENTITY_SCHEMA:
        rounds = rounds.append_column(field, pa.array([values[field.name]] * rounds.num_rows, field.type))
    return rounds
