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
* **Packing.** Subwords are packed greedily into sequences of at most ``max_len`` tokens, [CLS] and [SEP]
  included (``max_len - 2`` subwords). ``packing="stream"`` (the paper's): each split is one stream of
  documents (train, then dev, then test; documents in order), so a sequence may end one document and start
  the next, and (as the authors' ``create_ner_dataset``) a sequence is also closed after an O word once it
  holds more than 500 tokens; ``packing="document"``: sequences never cross documents
  (:mod:`mtaal.multitask.packing`). The packing unit is a mention (a B-x word and the I-x words after it) or
  a single word outside any mention: a unit that does not fit in the current sequence starts the next one
  whole. Words are never split, nor mentions, except a unit longer than a whole sequence (``max_len - 2``
  subwords): it starts a new sequence and is cut between words where its words fit, inside a word only where
  that word alone is too long. Such splits are counted (``split_mentions``, ``split_words``) in the sidecar,
  the parquet metadata and the sequence table.
* **Where each subword came from.** ``doc_ids`` lists the documents a sequence holds, in order;
  ``doc_index`` gives every position the index of its document in that list (-1 on [CLS] / [SEP]) and
  ``word_index`` the word's index in its document, so every word maps back to (document, word) whatever the
  packing. ``doc_id`` is the document of the sequence's first subword; ``sequence`` numbers the sequences
  within that document (``document``) or within the split's stream (``stream``).
* **Counts under both packings.** The metadata's ``sequence_counts`` gives every split's sequence count
  under both packings, at this ``max_len`` and at the paper's 512 (Supplemental Table 1's setting), so the
  comparison shows the paper's count beside ours whatever the tier.
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

This module reads the tokens and writes the tables (:func:`build_wordpiece`, :func:`read_wordpiece`); the
steps live beside it: :mod:`mtaal.multitask.encoder_specs` (which tokenizer), :mod:`mtaal.multitask.subwords`
(words to subwords), :mod:`mtaal.multitask.packing` (subwords to sequences), :mod:`mtaal.multitask.labels`
(tags, labels, word decoding); :mod:`mtaal.multitask.sequence_table` counts the tables.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mtaal.errors import ConfigError, CorpusFormatError
from mtaal.io import write_json, write_parquet
from mtaal.multitask.labels import DECODING, IGNORE_LABEL, LABEL_SCHEME, NO_WORD, parse_tags, tag_set
from mtaal.multitask.packing import MIN_MAX_LEN, PACKINGS, pack_words, unit_starts_from_codes
from mtaal.multitask.subwords import SubwordTokenizer, load_subword_tokenizer

log = logging.getLogger("mtaal.wordpiece")

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
        ("doc_ids", pa.list_(pa.string())),
        ("doc_index", pa.list_(pa.int16())),
    ]
)
# The paper's sequence length (Supplemental Table 1's counts are at this length).
PAPER_MAX_LEN = 512
COUNT_COLUMNS = (
    "documents", "words", "mentions", "subwords", "sequences", "split_mentions", "split_words", "unk_words"
)


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
    packing: str = "stream",
) -> dict:
    """Tokenize, pack and label one dataset; write the sequences parquet (and the JSON sidecar). Returns the
    sidecar's content. ``tokenizer``, when given, is used instead of resolving ``tokenizer_spec``;
    ``packing``: ``stream`` (one stream of documents per split, the paper's) or ``document``."""
    started = time.perf_counter()
    tokens_path = Path(tokens_path)
    if not isinstance(max_len, int | np.integer) or max_len < MIN_MAX_LEN:
        raise ConfigError(f"max_len must be an integer >= {MIN_MAX_LEN}, got {max_len!r}")
    if packing not in PACKINGS:
        raise ConfigError(f"packing must be one of {PACKINGS}, got {packing!r}")
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
    if packing == "stream" and n_docs:
        # one stream per split: each split's documents together (train, dev, test, others by name), each
        # split's in document order; the documents are renumbered in that order
        ranked = sorted(split_names, key=lambda name: (SPLITS.index(name) if name in SPLITS else len(SPLITS),
                                                       name))
        rank = np.array([ranked.index(name) for name in split_names], dtype=np.int64)[doc_split_code]
        stream_order = np.lexsort((np.arange(n_docs), rank))
        if (stream_order != np.arange(n_docs)).any():
            renumber = np.empty(n_docs, dtype=np.int64)
            renumber[stream_order] = np.arange(n_docs)
            doc = renumber[doc]
            moved = np.argsort(doc, kind="stable")
            doc, sentence, position = doc[moved], sentence[moved], position[moved]
            split_codes = split_codes[moved]
            order = moved if order is None else order[moved]
            doc_names = [doc_names[i] for i in stream_order]
            doc_start = np.searchsorted(doc, np.arange(n_docs), side="left")
            doc_split_code = split_codes[doc_start]
            split_of_doc = np.asarray(split_names, dtype=object)[doc_split_code]

    # tags
    tag_codes, tag_names = _codes(table["tag"])
    tag_codes = ordered(tag_codes)
    prefix_of, kind_of = parse_tags(tag_names, tokens_path)
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
    starts = unit_starts_from_codes(doc, prefix, kind_of[tag_codes])

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
    outside = prefix == 0
    word_split = split_of_doc[doc] if len(doc) else np.zeros(0, dtype=object)
    stream = doc if packing == "document" else (doc_split_code[doc] if len(doc) else doc)
    packed = pack_words(word_len, starts, stream, outside, max_len, packing)
    sub_seq = packed.subword_sequence
    n_seq = packed.n_sequences
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
    # sequence numbers within the first subword's document (document packing) or the split's stream
    seq_stream = seq_doc if packing == "document" else doc_split_code[seq_doc]
    seq_in_doc = np.arange(n_seq) - np.searchsorted(seq_stream, seq_stream, side="left")
    new_word = np.ones(n_sub, dtype=bool)
    new_word[1:] = (sub_word[1:] != sub_word[:-1]) | (sub_seq[1:] != sub_seq[:-1])
    n_words_seq = np.bincount(sub_seq[new_word], minlength=n_seq)
    # the documents of each sequence (runs of one document), and every subword's index among them
    sub_doc = doc[sub_word]
    new_run = np.ones(n_sub, dtype=bool)
    new_run[1:] = (sub_doc[1:] != sub_doc[:-1]) | (sub_seq[1:] != sub_seq[:-1])
    run_id = np.cumsum(new_run) - 1
    run_seq = sub_seq[new_run]
    runs_per_seq = np.bincount(run_seq, minlength=n_seq)
    run_offsets = np.zeros(n_seq + 1, dtype=np.int64)
    np.cumsum(runs_per_seq, out=run_offsets[1:])
    doc_index = np.full(total, -1, dtype=np.int16)
    doc_index[positions] = run_id - run_offsets[sub_seq]

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
            "doc_ids": pa.ListArray.from_arrays(
                pa.array(run_offsets.astype(np.int32)),
                pa.array(np.asarray(doc_names, dtype=object)[sub_doc[new_run]].astype(str), pa.string()),
            ),
            "doc_index": pa.ListArray.from_arrays(offsets, pa.array(doc_index)),
        },
        schema=OUTPUT_SCHEMA,
    )

    # counts per split
    counts = {split: _empty_counts() for split in SPLITS}
    unit_split = word_split[first_word]
    split_unit_ids = np.asarray(packed.split_units, dtype=np.int64)
    split_mentions = split_unit_ids[prefix[first_word[split_unit_ids]] != 0]
    split_words = np.asarray(packed.split_words, dtype=np.int64)
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
    sequence_counts = {
        kind: {
            str(length): {
                split: pack_words(
                    word_len[in_split], starts[in_split], doc[in_split] if kind == "document" else
                    np.zeros(int(in_split.sum()), dtype=np.int64), outside[in_split], length, kind,
                ).n_sequences if (in_split := word_split == split).any() else 0
                for split in counts
            }
            for length in sorted({int(max_len), PAPER_MAX_LEN})
        }
        for kind in PACKINGS
    }
    meta = {
        "dataset": dataset,
        "encoder": encoder,
        "tokenizer": str(tokenizer_spec),
        "lowercase": tokenizer.lowercase,
        "vocab_size": tokenizer.vocab_size,
        "max_len": int(max_len),
        "packing": packing,
        "tags": tags,
        "label_scheme": LABEL_SCHEME,
        "decoding": DECODING,
        "ignore_label": IGNORE_LABEL,
        "no_word": NO_WORD,
        "special_tokens": special,
        "counts": counts,
        "sequence_counts": sequence_counts,
        "source": str(tokens_path),
    }
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(meta, sort_keys=True).encode()})
    write_parquet(table, out_path)
    if meta_path is not None:
        write_json(meta, meta_path)
    totals = {key: sum(c[key] for c in counts.values()) for key in COUNT_COLUMNS}
    log.info(
        "%s: %d documents, %d words -> %d subwords in %d sequences (max_len %d, %s packing); %d split "
        "mentions, %d split words, %d [UNK] words; %.2f s",
        dataset, totals["documents"], totals["words"], totals["subwords"], totals["sequences"], max_len,
        packing,
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

