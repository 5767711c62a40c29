"""Training and querying a curator's project with the workflow's own MTAAL code.

Both commands rebuild an :class:`~mtaal.active.loop.ActiveLearner` (the learner the workflow's simulated
runs use) around the project's labeled sentences and call its steps:

* ``train``: a fresh model (first time, ``--fresh``, or when the labeled data holds a concept id the
  model's label set lacks) is created from the project config and trained like the workflow's round 0
  (``ActiveLearner.train(initial_epochs)``); otherwise the latest model is loaded with its optimisers and
  random state and trained like a query round (``ActiveLearner.train(epochs_per_round)``; with
  ``warm_start: false`` the weights are re-initialised first, as the workflow does).
* ``query``: the latest model plays the DD game (:func:`~mtaal.active.loop.play_dd_game`), scores the pool
  (:func:`~mtaal.active.loop.score_sentences`) and picks the batch (``top_k``, or the random strategy with
  the run's generator), in the workflow's order of steps; the model after the DD game is saved as a new
  version, so the next ``train`` continues from exactly where the workflow's round would.

The pool is never loaded whole: candidates are enumerated from the id / length columns, scored in chunks
of ``query_chunk_sentences`` read with ``pyarrow`` ``iter_batches`` (only the score array is kept), and the
DD game reads just the rows of the batches it draws. A pool of at most one chunk is scored in exactly the
workflow's batches; a bigger one per chunk (the same function; scores agree to float rounding).

Model files: ``model.safetensors`` (weights) + ``model.json`` (settings, vocabulary, label sets);
``state.safetensors`` (optimiser tensors, torch RNG) + ``state.json`` (optimiser hyperparameters, numpy
and python RNG states). No pickle is read.
"""

from __future__ import annotations

import bisect
import json
import logging
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import torch
from gensim.models import KeyedVectors
from safetensors.torch import load_file, save_file

from mtaal.active.data import OUTSIDE, ALData
from mtaal.active.inference import predict_pool
from mtaal.active.loop import (
    OPTIMIZER_NAMES,
    ActiveLearner,
    _rng_state,
    _set_rng_state,
    play_dd_game,
    score_sentences,
)
from mtaal.active.metrics import iob2_mentions
from mtaal.active.settings import ALSettings
from mtaal.active.strategies import RandomStrategy, make_strategy, top_k
from mtaal.curate.formats import write_batch
from mtaal.curate.project import Project, ProjectError, now
from mtaal.errors import ConfigError
from mtaal.io import atomic_path, write_json

log = logging.getLogger(__name__)

MODEL_FORMAT = 1
EMBEDDING_WEIGHT = "encoder.word_embedding.weight"
SETTING_KEYS = ("seed", "strategy", "use_td", "use_dd", "initial_epochs", "epochs_per_round", "warm_start",
                "dd_steps", "batch_size", "hidden", "char_dim", "lr", "betas", "adversarial_lr",
                "scoring_batch_size", "device")


# ---------------------------------------------------------------------------------------------- settings


def project_settings(project: Project, config: dict[str, Any]) -> ALSettings:
    """The workflow's run settings from a project config (``rounds`` and ``query_size`` are per command)."""
    tasks = ("ner", "nen") if project.concepts else ("ner",)
    values = {key: config[key] for key in SETTING_KEYS}
    values["betas"] = tuple(values["betas"])
    if values["use_td"] and len(tasks) == 1:
        raise ConfigError(f"{project.root / 'config.yaml'}: use_td needs concept ids (init --concepts); set "
                          "use_td: false")
    return ALSettings(dataset=project.root.name, embedding=str(config["embedding"]), tasks=tasks, rounds=0,
                      **values)


def load_vectors(embedding: str, project: Project) -> KeyedVectors | None:
    """glove (the packaged GloVe 6B 50d), random (None), or a word2vec text / binary file (no pickle)."""
    if embedding == "random":
        return None
    if embedding == "glove":
        from mtaal.embeddings import glove_keyed_vectors

        return glove_keyed_vectors()
    from mtaal.embeddings import read_user_vectors

    path = Path(embedding)
    return read_user_vectors(path if path.is_absolute() else project.root / path)


# ---------------------------------------------------------------------------------------------- data


def label_sets(project: Project, labeled: dict[str, dict]) -> tuple[list[str], list[str]]:
    """NER tags (sorted, as the workflow's label file) and NEN labels ("O" first, then sorted ids)."""
    ner = sorted({OUTSIDE} | {f"{p}-{t}" for t in project.entity_types for p in "BI"})
    concepts = set(project.concept_list() or [])
    for row in labeled.values():
        concepts.update(c for c in row["concepts"] if c is not None)
    return ner, [OUTSIDE, *sorted(concepts - {OUTSIDE})] if project.concepts else [OUTSIDE]


def learner_data(labeled: dict[str, dict], vocab_words: list[str], ner_labels: list[str],
                 nen_labels: list[str]) -> ALData:
    """An :class:`ALData` of the labeled sentences only (the pool stays on disk)."""
    ner_ids = {t: i for i, t in enumerate(ner_labels)}
    nen_ids = {c: i for i, c in enumerate(nen_labels)}
    rows = list(labeled.values())
    ner, nen, nen_gold = [], [], []
    for row in rows:
        concepts = [OUTSIDE if c is None or t == OUTSIDE else c for t, c in zip(row["tags"], row["concepts"],
                                                                                strict=True)]
        ner.append([ner_ids[t] for t in row["tags"]])
        nen.append([nen_ids.get(c, 0) for c in concepts])
        nen_gold.append(concepts)
    ids = [row["sentence_id"] for row in rows]
    return ALData(sentence_ids=ids, words=[list(r["tokens"]) for r in rows], ner=ner, nen=nen,
                  ner_gold=[list(r["tags"]) for r in rows], nen_gold=nen_gold, ner_labels=ner_labels,
                  nen_labels=nen_labels, vocab_words=vocab_words, labeled=list(ids), unlabeled=[], test=[])


class Pool(Sequence):
    """The pool's candidate sentences (eligible, not labeled, never queried) in project order, read from
    the parquet parts on demand: ``len``, indexing (the DD game) and :meth:`chunks` (scoring)."""

    def __init__(self, project: Project, min_words: int, max_words: int, exclude: set[str]):
        self.parts = project.parts("sentences")
        self.ids: list[str] = []
        locations: list[np.ndarray] = []
        for p, path in enumerate(self.parts):
            table = pq.read_table(path, columns=["sentence_id", "n_tokens"])
            ids = table.column(0).to_pylist()
            n = table.column(1).to_numpy()
            keep = [i for i in np.flatnonzero((n > min_words) & (n < max_words)) if ids[i] not in exclude]
            self.ids.extend(ids[i] for i in keep)
            locations.append(np.stack([np.full(len(keep), p), np.asarray(keep, dtype=np.int64)], axis=1))
        self.locations = np.concatenate(locations) if locations else np.zeros((0, 2), dtype=np.int64)
        self._files: dict[int, pq.ParquetFile] = {}
        self._cache: dict[tuple[int, int], list] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def _file(self, part: int) -> tuple[pq.ParquetFile, list[int]]:
        if part not in self._files:
            self._files[part] = pq.ParquetFile(self.parts[part])
        handle = self._files[part]
        meta = handle.metadata
        offsets = list(np.cumsum([0] + [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]))
        return handle, offsets

    def __getitem__(self, index):  # type: ignore[override]
        part, row = (int(v) for v in self.locations[index])
        handle, offsets = self._file(part)
        group = bisect.bisect_right(offsets, row) - 1
        if (part, group) not in self._cache:
            if len(self._cache) >= 8:  # a few row groups at a time: memory stays bounded
                self._cache.clear()
            tokens = handle.read_row_group(group, columns=["tokens"]).column(0)
            self._cache[(part, group)] = tokens.to_pylist()
        return self._cache[(part, group)][row - offsets[group]]

    def chunks(self, size: int) -> Iterator[list[list[str]]]:
        """The candidates' token lists in order, ``size`` at a time."""
        wanted = [set() for _ in self.parts]
        for part, row in self.locations:
            wanted[int(part)].add(int(row))
        chunk: list[list[str]] = []
        for p, path in enumerate(self.parts):
            if not wanted[p]:
                continue
            row = 0
            for batch in pq.ParquetFile(path).iter_batches(batch_size=4096, columns=["tokens"]):
                for tokens in batch.column(0).to_pylist():
                    if row in wanted[p]:
                        chunk.append(tokens)
                        if len(chunk) == size:
                            yield chunk
                            chunk = []
                    row += 1
        if chunk:
            yield chunk

    def rows(self, ids: Sequence[str]) -> list[dict]:
        """Full rows (text, offsets, document) of a few candidates, in the order of ``ids``; only their
        row groups are read."""
        position = {sid: i for i, sid in enumerate(self.ids)}
        out: dict[str, dict] = {}
        for sid in ids:
            part, row = (int(v) for v in self.locations[position[sid]])
            handle, offsets = self._file(part)
            group = bisect.bisect_right(offsets, row) - 1
            table = handle.read_row_group(group)
            out[sid] = table.slice(row - offsets[group], 1).to_pylist()[0]
        return [out[sid] for sid in ids]


# ---------------------------------------------------------------------------------------------- model files


def save_model(folder: Path, learner: ActiveLearner, meta: dict[str, Any]) -> None:
    """Weights and optimiser / RNG state as safetensors, the rest as JSON; each file atomic."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in learner.model.state_dict().items()}
    with atomic_path(folder / "model.safetensors") as temporary:
        save_file(weights, str(temporary))
    tensors: dict[str, torch.Tensor] = {}
    groups: dict[str, Any] = {}
    for name in OPTIMIZER_NAMES:
        optimizer = getattr(learner.optimizers, name)
        if optimizer is None:
            continue
        state = optimizer.state_dict()
        groups[name] = state["param_groups"]
        for pid, values in state["state"].items():
            for key, value in values.items():
                tensors[f"{name}.{pid}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    rng = _rng_state(learner.rng)
    tensors["rng.torch"] = rng["torch"]
    with atomic_path(folder / "state.safetensors") as temporary:
        save_file(tensors, str(temporary))
    write_json({"optimizers": groups, "numpy": rng["numpy"], "python": rng["python"]}, folder / "state.json")
    write_json({"format": MODEL_FORMAT, **meta}, folder / "model.json")


def load_model(project: Project, version: int, labeled: dict[str, dict],
               settings: ALSettings | None = None) -> tuple[ActiveLearner, dict[str, Any]]:
    """The learner of a saved version around ``labeled`` (sentences with labels outside the model's label
    sets get label 0 for NEN: see :func:`needs_fresh_model`)."""
    folder = project.model_dir(version)
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    if meta.get("format") != MODEL_FORMAT:
        raise ProjectError(f"{folder / 'model.json'}: model format {meta.get('format')!r}, expected "
                           f"{MODEL_FORMAT}")
    settings = settings or ALSettings.from_dict(meta["settings"])
    weights = load_file(str(folder / "model.safetensors"))
    data = learner_data(labeled, meta["vocab_words"], meta["ner_labels"], meta["nen_labels"])
    learner = ActiveLearner(settings, data, weights[EMBEDDING_WEIGHT].numpy())
    learner.model.load_state_dict(weights)
    tensors = load_file(str(folder / "state.safetensors"))
    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    for name in OPTIMIZER_NAMES:
        optimizer = getattr(learner.optimizers, name)
        if optimizer is None:
            continue
        groups = state["optimizers"][name]
        for group in groups:
            group["betas"] = tuple(group["betas"])
        per_param: dict[int, dict[str, torch.Tensor]] = {}
        prefix = f"{name}."
        for key, tensor in tensors.items():
            if key.startswith(prefix):
                pid, field = key[len(prefix):].split(".", 1)
                per_param.setdefault(int(pid), {})[field] = tensor
        optimizer.load_state_dict({"state": per_param, "param_groups": groups})
    _set_rng_state(learner.rng, {"numpy": state["numpy"], "python": state["python"],
                                 "torch": tensors["rng.torch"], "cuda": None})
    return learner, meta


def needs_fresh_model(meta: dict[str, Any], labeled: dict[str, dict]) -> str | None:
    """Why the saved model cannot learn the labeled data (a tag or concept id it has no output for)."""
    tags = set(meta["ner_labels"])
    concepts = set(meta["nen_labels"])
    for row in labeled.values():
        for tag, concept in zip(row["tags"], row["concepts"], strict=True):
            if tag not in tags:
                return f"tag {tag} is not among the model's tags"
            if "nen" in meta["settings"]["tasks"] and concept is not None and concept not in concepts:
                return f"concept id {concept} is not among the model's {len(concepts) - 1} concept ids"
    return None


# ---------------------------------------------------------------------------------------------- train


def train(project: Project, fresh: bool = False) -> dict[str, Any]:
    labeled = project.labeled()
    if not labeled:
        raise ProjectError(f"{project.root}: no labeled sentences yet; import some with `mtaal add-labels`")
    config = project.config()
    versions = project.model_versions()
    reason = "--fresh" if fresh else ("first model" if not versions else None)
    if reason is None:
        meta = json.loads((project.model_dir(versions[-1]) / "model.json").read_text(encoding="utf-8"))
        reason = needs_fresh_model(meta, labeled)
    if reason is not None:
        settings = project_settings(project, config)
        pool = Pool(project, config["min_words"], config["max_words"], set(labeled))
        words = {w for row in labeled.values() for w in row["tokens"]}
        for chunk in pool.chunks(config["query_chunk_sentences"]):
            for tokens in chunk:
                words.update(tokens)
        ner_labels, nen_labels = label_sets(project, labeled)
        data = learner_data(labeled, sorted(words), ner_labels, nen_labels)
        learner = ActiveLearner(settings, data, load_vectors(settings.embedding, project))
        random.seed(settings.seed)  # as run_active_learning does on a fresh start
        torch.manual_seed(settings.seed)
        loss = learner.train(settings.initial_epochs, unlabeled=pool)
        epochs, parent = settings.initial_epochs, None
        meta = {"vocab_words": data.vocab_words, "ner_labels": ner_labels, "nen_labels": nen_labels}
    else:
        learner, meta = load_model(project, versions[-1], labeled)
        settings, parent = learner.settings, versions[-1]
        # The TD game's unlabeled batches: the workflow's pool after its queries moved to the labeled set.
        pool = Pool(project, config["min_words"], config["max_words"], set(labeled) | set(project.queried()))
        if settings.warm_start:
            loss, epochs = learner.train(settings.epochs_per_round, pool), settings.epochs_per_round
        else:
            learner.model, learner.optimizers = learner._fresh_model()
            loss, epochs = learner.train(settings.initial_epochs, pool), settings.initial_epochs
    version = (versions[-1] if versions else 0) + 1
    meta = {"version": version, "parent": parent, "created": now(), "settings": settings.as_dict(),
            "labeled_count": len(labeled), "task_loss": float(loss), "step": "train",
            "vocab_words": meta["vocab_words"], "ner_labels": meta["ner_labels"],
            "nen_labels": meta["nen_labels"]}
    save_model(project.model_dir(version), learner, meta)
    details = {"model_version": version, "parent": parent, "fresh": reason, "epochs": epochs,
               "labeled_count": len(labeled), "task_loss": float(loss), "seed": settings.seed,
               "embedding": settings.embedding, "tasks": list(settings.tasks)}
    project.log("train", details)
    return details


# ---------------------------------------------------------------------------------------------- query


def query(project: Project, k: int, strategy_name: str | None = None) -> dict[str, Any]:
    if k < 1:
        raise ConfigError(f"query -k: at least 1, got {k}")
    versions = project.model_versions()
    if not versions:
        raise ProjectError(f"{project.root}: no model yet; run `mtaal train` first")
    config = project.config()
    labeled = project.labeled()
    queried = project.queried()
    learner, meta = load_model(project, versions[-1], labeled)
    settings = learner.settings
    name = strategy_name or config["strategy"]
    strategy = make_strategy(name)
    if name == "diversity" and learner.model.dd is None:
        raise ConfigError("strategy diversity needs the diversity discriminator: set use_dd: true (or "
                          "strategy: diversity) in config.yaml and run `mtaal train --fresh`")
    pool = Pool(project, config["min_words"], config["max_words"], set(labeled) | set(queried))
    if not len(pool):
        raise ProjectError(f"{project.root}: the pool is empty (every eligible sentence is labeled or was "
                           "queried); add text with `mtaal add-text`")
    # The workflow's query round: DD game, then scoring and selection (ActiveLearner.run_round).
    labeled_sentences = [list(row["tokens"]) for row in labeled.values()]
    play_dd_game(learner.model, learner.optimizers, learner.vocab, learner.rng, settings, labeled_sentences,
                 pool, learner.device)
    k = min(k, len(pool))
    scores: np.ndarray | None = None
    if isinstance(strategy, RandomStrategy):
        selected = strategy.select(k, pool.ids, rng=learner.rng)
    else:
        scores = np.empty(len(pool), dtype=np.float64)
        done = 0
        for chunk in pool.chunks(config["query_chunk_sentences"]):
            scores[done : done + len(chunk)] = score_sentences(learner.model, learner.vocab, chunk, strategy,
                                                               settings.scoring_batch_size)
            done += len(chunk)
        selected = top_k(pool.ids, scores, k)
    position = {sid: i for i, sid in enumerate(pool.ids)}
    rows = pool.rows(selected)
    chosen_scores = [None if scores is None else float(scores[position[s]]) for s in selected]
    predictions = predict_rows(learner, meta, rows)
    batch = len(project.events("query")) + 1
    folder = project.root / "batches" / f"batch-{batch:04d}"
    files = write_batch(folder, f"batch-{batch:04d}", rows, predictions, chosen_scores,
                        "nen" in settings.tasks)
    version = versions[-1] + 1
    meta = {**meta, "version": version, "parent": versions[-1], "created": now(), "step": f"query {batch}",
            "labeled_count": len(labeled)}
    save_model(project.model_dir(version), learner, meta)
    details = {"batch": batch, "strategy": name, "k": k, "pool_size": len(pool), "model_version": version,
               "scored_by_version": versions[-1], "seed": settings.seed, "sentence_ids": selected,
               "scores": chosen_scores, "files": [str(f.relative_to(project.root)) for f in files]}
    project.log("query", details)
    return details


def predict_rows(learner: ActiveLearner, meta: dict[str, Any], rows: list[dict]
                 ) -> list[tuple[list[str], list[str | None]]]:
    """Tags (repaired to valid IOB2) and per-token concept ids (one per mention) for pre-annotation."""
    sentences = [list(r["tokens"]) for r in rows]
    if not sentences:
        return []
    pred = predict_pool(learner.model, sentences, learner.vocab,
                        batch_size=learner.settings.scoring_batch_size)
    out = []
    for i, tokens in enumerate(sentences):
        tags = [meta["ner_labels"][j] for j in pred.probs["ner"][i].argmax(-1)]
        tags = repair_iob2(tags)
        concepts: list[str | None] = [None] * len(tokens)
        if "nen" in pred.probs:
            ids = [meta["nen_labels"][j] for j in pred.probs["nen"][i].argmax(-1)]
            for start, end, _type in iob2_mentions(tags):
                found = [c for c in ids[start:end] if c != OUTSIDE]
                concept = max(set(found), key=found.count) if found else None
                concepts[start:end] = [concept] * (end - start)
        out.append((tags, concepts))
    return out


def repair_iob2(tags: list[str]) -> list[str]:
    """An ``I-X`` that continues nothing becomes ``B-X`` (the file must pass add-labels as it is)."""
    out, previous = [], OUTSIDE
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            tag = "B-" + tag[2:]
        out.append(tag)
        previous = tag
    return out

