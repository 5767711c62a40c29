"""word2vec trained on the workflow's own corpus text (an addition: the MTAAL release trains none)."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from gensim.models import KeyedVectors, Word2Vec

from mtaal.embeddings.vectors import EmbeddingError, save_keyed_vectors

log = logging.getLogger(__name__)


def read_sentences(
    token_tables: Iterable[str | Path],
    *,
    lowercase: bool = False,
    splits: Sequence[str] | None = None,
    deduplicate: bool = True,
) -> list[list[str]]:
    """The sentences of tokens tables: (doc_id, sentence) groups in ``position`` order, tables in path order.

    Rows are ordered by (doc_id, sentence, position) inside each table and tables by sorted path, so the same
    set of tables gives the same sentence stream whatever order they are listed in. ``deduplicate`` keeps a
    document's text once when several tables hold it (HUNER datasets of one corpus, e.g. jnlpba_gene and
    jnlpba_cellline, share their documents): a document whose exact sentences came earlier is skipped.
    Token strings are shared through each table's dictionary, so memory grows with the vocabulary, not with
    the token count.
    """
    wanted = None if splits is None else pa.array(list(splits), pa.string())
    seen: set[bytes] = set()
    sentences: list[list[str]] = []
    for path in sorted(Path(p) for p in token_tables):
        table = pq.read_table(path, columns=["doc_id", "split", "sentence", "position", "token"])
        if wanted is not None:
            table = table.filter(pc.is_in(table["split"], value_set=wanted))
        if table.num_rows == 0:
            log.info("%s: no tokens%s", path, "" if splits is None else f" in splits {list(splits)}")
            continue
        table = table.sort_by([("doc_id", "ascending"), ("sentence", "ascending"), ("position", "ascending")])
        tokens = pc.dictionary_encode(table["token"]).combine_chunks()
        words = tokens.dictionary.to_pylist()
        if lowercase:
            words = [word.lower() for word in words]
        codes = tokens.indices.to_numpy(zero_copy_only=False)
        doc_ids = pc.dictionary_encode(table["doc_id"]).combine_chunks()
        doc_codes = doc_ids.indices.to_numpy(zero_copy_only=False)
        sentence_ids = table["sentence"].to_numpy()
        starts = np.flatnonzero((np.diff(doc_codes) != 0) | (np.diff(sentence_ids) != 0)) + 1
        chunks = np.split(codes, starts)
        sentence_docs = doc_codes[np.concatenate(([0], starts))]
        doc_groups = np.split(np.arange(len(chunks)), np.flatnonzero(np.diff(sentence_docs) != 0) + 1)
        kept_documents = kept_tokens = 0
        for group in doc_groups:
            document = [[words[code] for code in chunks[index].tolist()] for index in group.tolist()]
            if deduplicate:
                digest = hashlib.blake2b(digest_size=16)
                for sentence in document:
                    digest.update("\x1f".join(sentence).encode("utf-8") + b"\x1e")
                if digest.digest() in seen:
                    continue
                seen.add(digest.digest())
            sentences.extend(document)
            kept_documents += 1
            kept_tokens += sum(len(sentence) for sentence in document)
        log.info("%s: %d documents, %d tokens; %d documents seen in an earlier table skipped", path,
                 kept_documents, kept_tokens, len(doc_groups) - kept_documents)
    return sentences


def train_word2vec(
    token_tables: Sequence[str | Path],
    out: str | Path,
    dim: int = 200,
    window: int = 5,
    min_count: int = 2,
    epochs: int = 5,
    seed: int = 13,
    workers: int = 1,
    *,
    sg: int = 1,
    lowercase: bool = False,
    splits: Sequence[str] | None = None,
    deduplicate: bool = True,
) -> KeyedVectors:
    """Train gensim Word2Vec on the sentences of ``token_tables``; save its KeyedVectors to ``out``.

    Deterministic on CPU for the same tables, settings, gensim/numpy versions and machine when ``workers=1``:
    gensim >= 4 seeds the initial vectors and all sampling from ``seed`` through numpy generators, not through
    Python's ``hash()``, so ``PYTHONHASHSEED`` does not change the result (the unit tests check this); it only
    mattered to gensim 3's hash-seeded initialisation. More workers train faster but nondeterministically.
    ``splits`` restricts training to those splits (None: all, including test text; word2vec sees no labels,
    but a strict setting may keep test text out). ``deduplicate``: see :func:`read_sentences`.
    """
    if workers != 1:
        log.warning("word2vec with workers=%d is not reproducible (workers=1 is)", workers)
    sentences = read_sentences(token_tables, lowercase=lowercase, splits=splits, deduplicate=deduplicate)
    token_count = sum(len(sentence) for sentence in sentences)
    if token_count == 0:
        raise EmbeddingError(
            f"no tokens to train word2vec on in {len(token_tables)} tokens table(s)"
            + ("" if splits is None else f" (splits {list(splits)})")
            + ": every dataset is empty or skipped"
        )
    log.info("word2vec: %d sentences, %d tokens, dim=%d window=%d min_count=%d epochs=%d sg=%d seed=%d "
             "workers=%d lowercase=%s PYTHONHASHSEED=%s", len(sentences), token_count, dim, window, min_count,
             epochs, sg, seed, workers, lowercase, os.environ.get("PYTHONHASHSEED", "unset"))
    model = Word2Vec(
        vector_size=dim, window=window, min_count=min_count, epochs=epochs, seed=seed, workers=workers, sg=sg
    )
    model.build_vocab(sentences)
    if len(model.wv) == 0:
        raise EmbeddingError(f"word2vec: no word occurs at least min_count={min_count} times in "
                             f"{token_count} tokens; lower min_count")
    model.train(sentences, total_examples=model.corpus_count, epochs=model.epochs)
    kv = model.wv
    log.info("word2vec: vocabulary %d words (min_count=%d)", len(kv), min_count)
    save_keyed_vectors(kv, out)
    return kv
