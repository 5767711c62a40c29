"""One safe checkpoint format: a single safetensors file whose header carries the non-tensor state as JSON.

A training state is a tree of dicts, lists and tuples with tensors, numpy arrays and plain values as leaves
(model and optimiser state dicts, RNG states, result rows). :func:`save_checkpoint` stores every tensor
as a safetensors entry and the tree, with each tensor replaced by a reference, as JSON in the file's
metadata; :func:`load_checkpoint` rebuilds the same tree (tensors on the CPU). Nothing is unpickled, so a
checkpoint from elsewhere cannot run code, and one file is one atomic rename.

JSON cannot say everything a state holds, so a few leaves are tagged: ``{"__tensor__": key}``,
``{"__tuple__": [...]}`` (``random.setstate`` needs tuples), ``{"__items__": [[key, value], ...]}`` for a
dict with non-string keys (optimiser states are keyed by parameter index) and ``{"__ndarray__": [...],
"dtype": ...}`` for numpy arrays (numpy's legacy RNG state).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from mtaal.io import atomic_path

METADATA_KEY = "mtaal_state"
TAGS = ("__tensor__", "__tuple__", "__items__", "__ndarray__")


def save_checkpoint(state: Any, path: str | Path) -> None:
    """Write ``state`` to ``path`` atomically (safetensors with the JSON tree in its header)."""
    tensors: dict[str, torch.Tensor] = {}
    storages: set[int] = set()

    def encode(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            tensor = value.detach().cpu()
            storage = tensor.untyped_storage()
            whole = storage.nbytes() == tensor.numel() * tensor.element_size()
            if storage.data_ptr() in storages or not whole or not tensor.is_contiguous():
                tensor = tensor.contiguous().clone()  # safetensors stores no shared or partial storage
            storages.add(tensor.untyped_storage().data_ptr())
            key = f"t{len(tensors)}"
            tensors[key] = tensor
            return {"__tensor__": key}
        if isinstance(value, np.ndarray):
            return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, tuple):
            return {"__tuple__": [encode(item) for item in value]}
        if isinstance(value, list):
            return [encode(item) for item in value]
        if isinstance(value, dict):
            if all(isinstance(key, str) for key in value) and not any(tag in value for tag in TAGS):
                return {key: encode(item) for key, item in value.items()}
            return {"__items__": [[encode(key), encode(item)] for key, item in value.items()]}
        if value is None or isinstance(value, str | int | float | bool):
            return value
        raise TypeError(f"checkpoint: cannot store a {type(value).__name__}")

    tree = json.dumps(encode(state), allow_nan=True)
    with atomic_path(path) as temporary:
        save_file(tensors, str(temporary), metadata={METADATA_KEY: tree})


def checkpoint_header(path: str | Path) -> dict:
    """The saved tree with tensors left as ``{"__tensor__": key}`` references: a checkpoint's plain values
    (epoch, result rows) without reading its tensors."""
    with safe_open(str(path), framework="pt", device="cpu") as handle:
        metadata = handle.metadata() or {}
    if METADATA_KEY not in metadata:
        raise ValueError(f"{path}: a safetensors file without a {METADATA_KEY!r} header entry")
    return json.loads(metadata[METADATA_KEY])


def load_checkpoint(path: str | Path) -> Any:
    """The state :func:`save_checkpoint` wrote, tensors on the CPU. Raises on a file of any other kind."""
    tree = checkpoint_header(path)
    with safe_open(str(path), framework="pt", device="cpu") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (not a dict)

    def decode(value: Any) -> Any:
        if isinstance(value, list):
            return [decode(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__tuple__" in value:
            return tuple(decode(item) for item in value["__tuple__"])
        if "__items__" in value:
            return {_hashable(decode(key)): decode(item) for key, item in value["__items__"]}
        if "__ndarray__" in value:
            return np.asarray(value["__ndarray__"], dtype=value["dtype"])
        return {key: decode(item) for key, item in value.items()}

    return decode(tree)


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key
