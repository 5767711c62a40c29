from pathlib import Path

from mtaal.embeddings import train_word2vec
from mtaal.workflow import rule_logging

# params.settings: config mtaal.word2vec, whose keys (dim, window, ...) are train_word2vec's arguments.
with rule_logging(snakemake.log):
    train_word2vec([Path(path) for path in snakemake.input.tokens], Path(snakemake.output.vectors), workers=1,
                   **snakemake.params.settings)
