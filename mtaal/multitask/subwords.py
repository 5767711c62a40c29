"""Words to subwords: each distinct word encoded once with the encoder's own tokenizer (its Rust backend).

A word that encodes to nothing (control characters, a lone zero-width space, ...) becomes ``[UNK]``, so every
word keeps at least one subword.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtaal.multitask.encoder_specs import (
    PACKAGED_ENCODER,
    TokenizerError,
    packaged_encoder_dir,
    read_vocab,
    resolve_tokenizer,
    vocab_is_cased,
)


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
        vocab_map = read_vocab(vocab)
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

