from pathlib import Path

from mtaal.embeddings import load_user_vectors
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    load_user_vectors(
        Path(snakemake.input.vectors),
        snakemake.params.binary,
        Path(snakemake.output.vectors),
        limit=snakemake.params.limit,
        unicode_errors=snakemake.params.unicode_errors,
    )
