"""What a transformer training job declares to Snakemake: ``mem_mb`` from the encoder's shape and the batch.

Host memory of one training process (fp32; MB = 2**20 bytes):

* ``BASE_MB`` (Python, torch, tokenizer, code) + the encoder's weights;
* on the CPU, also the gradients and Adam's two moments (3 x the weights) and the activations kept for
  backward: ``batch x max_len x layers x (18 x hidden x 4 + heads x max_len x 5)`` bytes, i.e. per token
  and layer ~18 hidden-sized fp32 tensors and, per head, a row of attention over the sequence: its fp32
  softmax and a one-byte dropout mask (:func:`mtaal.multitask.model.exact_sdpa_attention`). Inference
  (``eval_batch_size``, no autograd) holds one layer's worth at a time; the larger of the two counts;
* on a GPU (``gpus`` > 0) the optimiser state and the activations live in GPU memory: the host holds the
  CUDA context (``CUDA_CONTEXT_MB``) and a copy of the weights while they move;
* the tasks' tables and gold words (``DATA_MB`` per run, more for a run of several tasks);
* 15% margin, rounded up to 500 MB.

Measured on this project's CPU hosts (one thread): a MiniLM (6 layers, hidden 384, 12 heads) single-task
run at 512 x 25 (IEPA, stream packing, 20 epochs; ``reproductions/multitask-cpu/jobs.tsv``) peaked at
6.4 GB resident. With torch's own attention path it had been 9.5 GB: that path keeps three fp32 rows per
head and score (scores, dropout noise, dropped probabilities), 12 bytes where the exact replacement keeps
5. A padding-free probe step of the same shape peaked at 3.0 GB (0.16 MB a token: the ``18 x hidden``
term). The estimate for those shapes: :func:`training_mem_mb` (tests/unit/test_multitask_resources.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

BASE_MB = 1000
CUDA_CONTEXT_MB = 2000
DATA_MB = {"one_task": 500, "several_tasks": 1500}
MARGIN = 1.15
HIDDEN_TENSORS = 18  # hidden-sized fp32 tensors kept per token and layer for backward
ATTENTION_BYTES = 5  # per head, token and key: the fp32 softmax and a bool dropout mask


@dataclass(frozen=True)
class EncoderShape:
    layers: int
    hidden: int
    heads: int
    intermediate: int
    vocab: int
    positions: int = 512

    @property
    def parameters(self) -> int:
        h, i = self.hidden, self.intermediate
        embeddings = (self.vocab + self.positions + 2) * h + 2 * h
        layer = 4 * h * h + 4 * h + 2 * h * i + i + h + 4 * h
        return embeddings + self.layers * layer


# BERT-base (BioBERT v1.1: cased vocabulary of 28,996): the shape of a model that is not on this machine.
BERT_BASE = EncoderShape(layers=12, hidden=768, heads=12, intermediate=3072, vocab=28996)


@cache
def encoder_shape(model: str | None) -> EncoderShape:
    """The shape of a configured encoder (``multitask.encoders.<key>.model``): the packaged MiniLM's or a
    local model directory's ``config.json``; anything else (a hub id not yet downloaded): BERT-base."""
    config_path = None
    if model in (None, "minilm"):
        from mtaal.multitask.encoder_specs import TokenizerError, packaged_encoder_dir

        try:
            config_path = packaged_encoder_dir() / "config.json"
        except TokenizerError:
            config_path = None
    elif (Path(model) / "config.json").is_file():
        config_path = Path(model) / "config.json"
    if config_path is None:
        return BERT_BASE
    config = json.loads(config_path.read_text(encoding="utf-8"))
    return EncoderShape(
        layers=int(config["num_hidden_layers"]), hidden=int(config["hidden_size"]),
        heads=int(config["num_attention_heads"]), intermediate=int(config.get("intermediate_size", 4 * 768)),
        vocab=int(config.get("vocab_size", 30522)), positions=int(config.get("max_position_embeddings", 512)),
    )


def training_mem_mb(
    shape: EncoderShape,
    max_len: int,
    batch_size: int,
    eval_batch_size: int,
    gpus: int = 0,
    several_tasks: bool = False,
) -> int:
    """The ``mem_mb`` a training job declares (module docstring), rounded up to 500 MB."""
    weights = shape.parameters * 4 / 2**20
    host = BASE_MB + weights
    if gpus:
        host += CUDA_CONTEXT_MB + weights
    else:
        per_token_layer = HIDDEN_TENSORS * shape.hidden * 4 + ATTENTION_BYTES * shape.heads * max_len
        train = batch_size * max_len * shape.layers * per_token_layer
        inference = eval_batch_size * max_len * per_token_layer
        host += 3 * weights + max(train, inference) / 2**20
    total = MARGIN * host + DATA_MB["several_tasks" if several_tasks else "one_task"]
    return int(math.ceil(total / 500) * 500)
